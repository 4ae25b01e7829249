import importlib
import threading
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, connections, transaction
from django.test import TransactionTestCase

from cvrtracker.audit.chain import entry_hash
from cvrtracker.audit.models import AuditEntry
from cvrtracker.audit.services import audit_record
from cvrtracker.lib.crypto import associated_data
from cvrtracker.lib.fields import seal
from cvrtracker.test import BaseTestCase, make_user

Action = AuditEntry.Action
trigger = importlib.import_module("cvrtracker.audit.migrations.0010_chain_existing_entries")


def tamper(sql: str, params=()) -> None:
    """Run SQL on the audit table as someone with database access would: around the
    append-only trigger, which the application cannot get past."""
    drop, create = trigger.TRIGGER[connection.vendor]
    with connection.cursor() as cursor:
        cursor.execute(drop)
        cursor.execute(sql, params)
        cursor.execute(create)


def verify(team=None) -> str:
    out = StringIO()
    call_command("audit_verify", *(["--team", str(team.code)] if team else []), stdout=out)
    return out.getvalue()


class AuditVerifyTests(BaseTestCase):
    def setUp(self):
        self.entries = [
            audit_record(action=action, actor=self.alice)
            for action in (Action.LOGIN, Action.API_KEY_CREATED, Action.LOGOUT, Action.LOGIN)
        ]
        audit_record(action=Action.LOGIN, actor=self.charlie)

    def assertBroken(self, words: str):
        with self.assertRaises(CommandError):
            verify(self.team)
        out = StringIO()
        with self.assertRaises(CommandError):
            call_command("audit_verify", "--team", str(self.team.code), stdout=out)
        self.assertIn(words, out.getvalue())
        # The other team's chain is untouched and still verifies.
        self.assertIn("ok", verify(self.charlies_team))

    def test_an_untouched_chain_verifies(self):
        out = verify()
        self.assertIn(f"{self.team.code}: 4 entries, ok", out)
        self.assertIn("intact", out)

    def test_each_team_has_its_own_chain_numbered_from_one(self):
        seqs = list(
            AuditEntry.objects.filter(chain=str(self.team.code))
            .order_by("seq")
            .values_list("seq", flat=True)
        )
        self.assertEqual(seqs, [1, 2, 3, 4])
        first, second = AuditEntry.objects.filter(chain=str(self.team.code)).order_by("seq")[:2]
        self.assertEqual(first.prev_hash, "")
        self.assertEqual(second.prev_hash, first.hash)
        self.assertEqual(first.hash, entry_hash(first))
        charlies = AuditEntry.objects.get(chain=str(self.charlies_team.code))
        self.assertEqual((charlies.seq, charlies.prev_hash), (1, ""))

    def test_it_finds_an_altered_entry(self):
        tamper(
            "UPDATE audit_auditentry SET action = %s WHERE id = %s",
            [Action.LOGOUT, self.entries[1].pk],
        )
        self.assertBroken("entry 2")

    def test_it_finds_an_altered_browser(self):
        # Someone holding the key encrypts another browser for this very row and column:
        # the trigger lets a change of the encrypted columns through (the master-key
        # rotation makes one), and the chain, over the plaintext, still sees it.
        entry = self.entries[0]
        aad = associated_data("audit_auditentry", str(entry.code), "user_agent")
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE audit_auditentry SET user_agent = %s WHERE id = %s",
                [seal("curl/8.0", aad=aad), entry.pk],
            )
        self.assertBroken("altered")

    def test_it_finds_an_altered_address(self):
        tamper(
            "UPDATE audit_auditentry SET ip = %s WHERE id = %s",
            [seal("198.51.100.1", aad=b"another row"), self.entries[0].pk],
        )
        self.assertBroken("altered")

    def test_it_finds_an_address_copied_from_another_entry(self):
        other = AuditEntry.objects.get(pk=self.entries[1].pk)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE audit_auditentry SET user_agent = %s WHERE id = %s",
                [bytes(other.__dict__["user_agent"]), self.entries[0].pk],
            )
        self.assertBroken("do not open")

    def test_it_finds_a_removed_entry(self):
        tamper("DELETE FROM audit_auditentry WHERE id = %s", [self.entries[1].pk])
        self.assertBroken("removed")

    def test_it_finds_a_removed_newest_entry(self):
        tamper("DELETE FROM audit_auditentry WHERE id = %s", [self.entries[-1].pk])
        self.assertBroken("newest entries")

    def test_it_finds_reordered_entries(self):
        a, b = self.entries[1], self.entries[2]
        tamper("UPDATE audit_auditentry SET seq = 1000 WHERE id = %s", [a.pk])
        tamper("UPDATE audit_auditentry SET seq = 2 WHERE id = %s", [b.pk])
        tamper("UPDATE audit_auditentry SET seq = 3 WHERE id = %s", [a.pk])
        self.assertBroken("does not link")

    def test_it_finds_an_entry_written_around_the_chain(self):
        AuditEntry.objects.create(
            action=Action.LOGIN, actor=self.alice, team=self.team, chain=str(self.team.code)
        )
        self.assertBroken("in no chain")

    def test_it_refuses_an_unknown_team(self):
        with self.assertRaises(CommandError):
            call_command("audit_verify", "--team", "not-a-code", stdout=StringIO())


@pytest.mark.skipif("connection.vendor != 'postgresql'")
class ConcurrentWritersTests(TransactionTestCase):
    """Two processes appending to one team's chain at once queue on its head's lock."""

    def test_concurrent_writers_do_not_fork_the_chain(self):
        alice = make_user("alice@example.org")
        errors = []

        def write(n):
            try:
                for _ in range(n):
                    audit_record(action=Action.LOGIN, actor=alice)
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=write, args=(10,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(errors, [])
        team = alice.membership.team
        self.assertEqual(AuditEntry.objects.filter(team=team).count(), 40)
        self.assertIn("40 entries, ok", verify(team))

    def test_the_database_refuses_a_fork(self):
        # The control: without the lock, a second entry with the same place fails.
        alice = make_user("alice@example.org")
        entry = audit_record(action=Action.LOGIN, actor=alice)
        twin = AuditEntry(action=Action.LOGOUT, team=entry.team, chain=entry.chain, seq=entry.seq)
        with self.assertRaises(IntegrityError), transaction.atomic():
            twin.save()
