"""API key names written before issue 15 are encrypted by api 0002-0004 (the pattern of
lib/fields_migration.py) and read back through the model; migrating back restores them."""

import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from cvrtracker.api.models import ApiKey
from cvrtracker.test import make_user


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
def test_an_existing_key_name_is_encrypted_and_read_back():
    team = make_user("keys@example.org").membership.team
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        migrate([("api", "0001_initial")])
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO api_apikey (code, team_id, name, prefix, digest, created_at) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                [
                    uuid.uuid4().hex,
                    team.pk,
                    "Zapier for Maria",
                    "cvrt_abc",
                    "d" * 64,
                    datetime(2026, 11, 1, tzinfo=UTC),
                ],
            )
        migrate(latest)
        assert ApiKey.objects.get().name == "Zapier for Maria"
        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM api_apikey")
            assert b"Maria" not in bytes(cursor.fetchone()[0])
        migrate([("api", "0001_initial")])
        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM api_apikey")
            assert cursor.fetchone()[0] == "Zapier for Maria"
    finally:
        migrate(latest)
