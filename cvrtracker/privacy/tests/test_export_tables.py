"""Every model is either in the export or deliberately left out, with a reason."""

from django.apps import apps

from cvrtracker.privacy.export_tables import EXCLUDED, TABLES


def test_every_model_is_exported_or_excluded_with_a_reason():
    exported = {label for table in TABLES for label in table.models}
    models = {model._meta.label for model in apps.get_models()}
    missing = sorted(models - exported - set(EXCLUDED))
    assert missing == [], f"export these models, or add them to EXCLUDED: {missing}"


def test_no_model_is_both_exported_and_excluded():
    exported = {label for table in TABLES for label in table.models}
    assert exported & set(EXCLUDED) == set()


def test_the_lists_name_only_existing_models():
    models = {model._meta.label for model in apps.get_models()}
    exported = {label for table in TABLES for label in table.models}
    assert exported <= models
    assert set(EXCLUDED) <= models


def test_every_exclusion_says_why():
    assert all(len(reason) > 20 for reason in EXCLUDED.values())


def test_every_table_has_a_distinct_path():
    paths = [table.path for table in TABLES]
    assert len(paths) == len(set(paths))
