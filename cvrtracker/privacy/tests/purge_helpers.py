"""What the purge tests count: every row that reaches a seller connection through
foreign keys, found by walking the models (not from the purge's own plan)."""

from __future__ import annotations

from django.apps import apps
from django.db.models import Q

from cvrtracker.amazon.models import SellerConnection


def paths_to_connection(max_depth: int = 3) -> dict[str, list[str]]:
    """{model label: [lookup to the connection's id, ...]} for every model that
    references SellerConnection directly or through its children (listing, order,
    snapshot, change, alert, rule...)."""
    found: dict[str, list[str]] = {}
    frontier: list[tuple[type, str]] = [(SellerConnection, "")]
    for _ in range(max_depth):
        following = []
        for target, suffix in frontier:
            for model in apps.get_models():
                for field in model._meta.get_fields():
                    if not (field.many_to_one or field.one_to_one) or field.auto_created:
                        continue
                    if not field.concrete or field.related_model is not target:
                        continue
                    lookup = f"{field.name}__{suffix}" if suffix else field.name
                    found.setdefault(model._meta.label, []).append(lookup)
                    following.append((model, lookup))
        frontier = following
    return found


def rows_of(connection_id: int) -> dict[str, int]:
    """{model label: rows of that model reaching the connection}, for every such model."""
    counts = {}
    for label, lookups in paths_to_connection().items():
        where = Q()
        for lookup in lookups:
            where |= Q(**{lookup: connection_id})
        counts[label] = apps.get_model(label).objects.filter(where).distinct().count()
    return counts
