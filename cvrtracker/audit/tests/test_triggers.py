"""The append-only trigger (audit/triggers.py): no UPDATE but a re-encryption of the
encrypted columns, which the master-key rotation makes, with audit_verify still green
afterwards; and the columns hold no plaintext."""

import base64
import secrets
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory, override_settings

from cvrtracker.audit.models import AuditEntry
from cvrtracker.audit.services import audit_context_from_request, audit_record
from cvrtracker.front.rotation import RotationReport, encrypted_rows_rotate
from cvrtracker.lib.crypto import key_provider
from cvrtracker.lib.fields import is_current
from cvrtracker.test import BaseTestCase

OLD = base64.b64encode(secrets.token_bytes(32)).decode()
NEW = base64.b64encode(secrets.token_bytes(32)).decode()
IP, AGENT, DETAIL = "203.0.113.77", "CanaryBrowser/7.1", "Alice Canary → Alice Newname"


def using(master: str, previous: str = ""):
    key_provider.cache_clear()
    return override_settings(MASTER_KEY=master, MASTER_KEY_PREVIOUS=previous)


@pytest.fixture(autouse=True)
def _fresh_provider():
    key_provider.cache_clear()
    yield
    key_provider.cache_clear()


def raw(entry, column: str):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM audit_auditentry WHERE id = %s", [entry.pk])  # noqa: S608
        return cursor.fetchone()[0]


def verify() -> str:
    out = StringIO()
    call_command("audit_verify", stdout=out)
    return out.getvalue()


class AuditEncryptionTests(BaseTestCase):
    def record(self) -> AuditEntry:
        request = RequestFactory().get("/", REMOTE_ADDR=IP, HTTP_USER_AGENT=AGENT)
        request.user = self.alice
        return audit_record(
            action=AuditEntry.Action.PROFILE_CHANGED,
            context=audit_context_from_request(request),
            target=self.alice,
            detail=DETAIL,
        )

    def test_the_columns_hold_ciphertext_and_the_entry_reads_plaintext(self):
        entry = self.record()
        for column, plain in (("ip", IP), ("user_agent", AGENT), ("detail", DETAIL)):
            stored = bytes(raw(entry, column))
            self.assertNotIn(plain.encode(), stored)
            self.assertNotIn(plain.split()[0].encode(), stored)
        again = AuditEntry.objects.get(pk=entry.pk)
        self.assertEqual((again.ip, again.user_agent, again.detail), (IP, AGENT, DETAIL))

    def test_the_database_refuses_any_other_update(self):
        entry = self.record()
        for sql, params in (
            ("UPDATE audit_auditentry SET action = %s WHERE id = %s", ["auth.logout"]),
            ("UPDATE audit_auditentry SET hash = %s WHERE id = %s", ["0" * 64]),
            # Turning an encrypted value into NULL would erase it: refused too.
            ("UPDATE audit_auditentry SET ip = NULL WHERE id = %s", []),
            (
                "UPDATE audit_auditentry SET ip = %s, target_code = %s WHERE id = %s",
                [bytes(raw(entry, "ip")), "x"],
            ),
        ):
            with (
                self.subTest(sql=sql),
                self.assertRaises(DatabaseError),
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                cursor.execute(sql, [*params, entry.pk])
        self.assertIn("intact", verify())

    def test_rotation_re_encrypts_entries_and_the_chain_still_verifies(self):
        with using(OLD):
            entries = [self.record() for _ in range(3)]
            old = [bytes(raw(e, "ip")) for e in entries]
            self.assertIn("intact", verify())
        with using(NEW, previous=OLD):
            report = RotationReport()
            encrypted_rows_rotate(report, models=[AuditEntry])
            self.assertTrue(report.ok, report.failed)
            self.assertEqual(report.rewrapped["audit.AuditEntry"], 3)
        with using(NEW):  # the previous key removed
            for entry, before in zip(entries, old, strict=True):
                after = bytes(raw(entry, "ip"))
                self.assertNotEqual(after, before)
                aad = AuditEntry._meta.get_field("ip").aad(entry)
                self.assertTrue(is_current(after, aad=aad))
                again = AuditEntry.objects.get(pk=entry.pk)
                self.assertEqual((again.ip, again.user_agent, again.detail), (IP, AGENT, DETAIL))
            self.assertIn("intact", verify())


def test_the_sqlite_trigger_guards_every_column_but_the_encrypted_ones():
    from cvrtracker.audit import triggers

    columns = {f.column for f in AuditEntry._meta.concrete_fields}
    assert set(triggers.SEALED) | set(triggers.GUARDED) == columns
    assert not set(triggers.SEALED) & set(triggers.GUARDED)
    for column in triggers.GUARDED:
        assert f"NEW.{column} IS NOT OLD.{column}" in triggers.SQLITE_INSTALL
    for column in triggers.SEALED:
        assert f"(NEW.{column} IS NULL) <> (OLD.{column} IS NULL)" in triggers.SQLITE_INSTALL
        assert f"(NEW.{column} IS NULL) <> (OLD.{column} IS NULL)" in triggers.POSTGRES_INSTALL
