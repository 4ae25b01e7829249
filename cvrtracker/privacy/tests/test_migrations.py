"""The data migrations that encrypt rows written before issue 15 (privacy 0002-0004,
audit 0013-0015): migrate back, write plaintext rows as the old schema had them,
migrate forward, read them through the models."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from cvrtracker.audit.models import AuditEntry
from cvrtracker.privacy.models import SupportRequest, UsageEvent

PRIVACY_BEFORE = [("privacy", "0001_initial")]
AUDIT_BEFORE = [("audit", "0012_privacy")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def latest():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_existing_rows_are_encrypted_and_read_back(django_user_model):
    user = django_user_model.objects.create_user(email="mig@example.org", password="x" * 16)
    try:
        migrate(PRIVACY_BEFORE + AUDIT_BEFORE)
        at = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO privacy_usageevent (user_id, at, ip, user_agent, method, path) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                [user.pk, at, "2001:db8::7", "OldBrowser/1.0", "GET", "/old-page/"],
            )
            cursor.execute(
                "INSERT INTO privacy_supportrequest (code, name, email, subject, message, "
                "status, created_at, answer) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    "0f0f0f0f0f0f4f0f8f0f0f0f0f0f0f0f".replace("-", ""),
                    "Old Name",
                    "old@example.org",
                    "Old subject",
                    "Old message",
                    "open",
                    at,
                    "",
                ],
            )
        migrate(latest())
        event = UsageEvent.objects.get()
        assert (event.ip, event.user_agent, event.path) == (
            "2001:db8::7",
            "OldBrowser/1.0",
            "/old-page/",
        )
        assert event.code is not None
        support = SupportRequest.objects.get()
        assert (support.name, support.email, support.subject, support.message, support.answer) == (
            "Old Name",
            "old@example.org",
            "Old subject",
            "Old message",
            "",
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT path, user_agent FROM privacy_usageevent")
            path, agent = cursor.fetchone()
        assert b"old-page" not in bytes(path) and b"OldBrowser" not in bytes(agent)

        # Back again: the plaintext returns to the old columns.
        migrate(PRIVACY_BEFORE)
        with connection.cursor() as cursor:
            cursor.execute("SELECT ip, user_agent, path FROM privacy_usageevent")
            assert tuple(str(v) for v in cursor.fetchone()) == (
                "2001:db8::7",
                "OldBrowser/1.0",
                "/old-page/",
            )
    finally:
        migrate(latest())


@pytest.mark.django_db(transaction=True)
def test_existing_audit_entries_are_encrypted_and_their_chain_still_verifies():
    from io import StringIO

    from django.core.management import call_command

    from cvrtracker.audit.services import audit_record

    try:
        migrate(AUDIT_BEFORE)
        # A chained entry as the old code wrote it: hash over the plaintext columns.
        from cvrtracker.audit.chain import entry_hash

        class Old:  # the attributes entry_payload reads
            chain, seq, prev_hash = "site", 1, ""
            code = "a1b2c3d4-0000-4000-8000-000000000001"
            created_at = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
            action, actor_id, team_id = "auth.login_failed", None, None
            target_type = target_code = ""
            ip, user_agent, detail = "192.0.2.44", "OldAgent/2", "staff reason"

        digest = entry_hash(Old)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO audit_auditentry (code, created_at, action, target_type, "
                "target_code, ip, user_agent, detail, chain, seq, prev_hash, hash) "
                "VALUES (%s, %s, %s, '', '', %s, %s, %s, 'site', 1, '', %s)",
                [
                    Old.code.replace("-", "") if connection.vendor == "sqlite" else Old.code,
                    Old.created_at,
                    Old.action,
                    Old.ip,
                    Old.user_agent,
                    Old.detail,
                    digest,
                ],
            )
            cursor.execute(
                "INSERT INTO audit_auditchain (key, last_seq, last_hash, updated_at, "
                "pruned_seq, pruned_hash) VALUES ('site', 1, %s, %s, 0, '')",
                [digest, Old.created_at],
            )
        migrate(latest())
        entry = AuditEntry.objects.get()
        assert (entry.ip, entry.user_agent, entry.detail) == (
            "192.0.2.44",
            "OldAgent/2",
            "staff reason",
        )
        audit_record(action=AuditEntry.Action.LOGIN_FAILED, detail="after")
        out = StringIO()
        call_command("audit_verify", stdout=out)
        assert "site: 2 entries, ok" in out.getvalue()
    finally:
        migrate(latest())


@pytest.mark.django_db(transaction=True)
def test_existing_login_records_lose_their_plaintext():
    from axes.models import AccessAttempt, AccessFailureLog

    from cvrtracker.privacy.login_records import axes_usernames, pseudonymous_ip

    try:
        migrate([("privacy", "0004_drop_plaintext_columns")])
        common = dict(user_agent="OldAgent/3", http_accept="*/*")
        AccessAttempt.objects.create(
            username="old@example.org",
            ip_address="192.0.2.9",
            failures_since_start=2,
            get_data="",
            post_data="",
            **common,
        )
        AccessFailureLog.objects.create(
            username="old@example.org", ip_address="192.0.2.9", locked_out=False, **common
        )
        migrate(latest())
        assert not AccessAttempt.objects.exists()
        row = AccessFailureLog.objects.get()
        assert (row.username, row.ip_address, row.user_agent) == (
            axes_usernames("old@example.org")[0],
            pseudonymous_ip("192.0.2.9"),
            "",
        )
    finally:
        migrate(latest())
