from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import DatabaseError, DataError, connection, transaction
from django.test import RequestFactory, TransactionTestCase
from psycopg.pq import TransactionStatus

from cvrtracker.audit import services
from cvrtracker.audit.chain import entry_hash
from cvrtracker.audit.models import AuditChain, AuditEntry
from cvrtracker.audit.services import AuditContext, audit_record, collecting
from cvrtracker.test import BaseTestCase, make_user


def verify(team) -> str:
    out = StringIO()
    call_command("audit_verify", "--team", str(team.code), stdout=out)
    return out.getvalue()


class AuditRecordTests(BaseTestCase):
    def test_it_records_actor_team_target_and_origin(self):
        request = RequestFactory().get(
            "/", REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Agent\r\nX: y"
        )
        request.user = self.alice
        entry = audit_record(
            action=AuditEntry.Action.MEMBER_INVITED, request=request, target=self.bob
        )
        self.assertEqual(entry.actor, self.alice)
        self.assertEqual(entry.team, self.team)
        self.assertEqual((entry.target_type, entry.target_code), ("user", str(self.bob.code)))
        self.assertEqual(entry.ip, "203.0.113.9")
        self.assertEqual(entry.user_agent, "Agent??X: y")  # no line breaks can forge log lines

    def test_entries_cannot_be_changed_through_the_model(self):
        entry = audit_record(action=AuditEntry.Action.LOGIN, actor=self.alice)
        entry.action = AuditEntry.Action.LOGOUT
        with self.assertRaises(ValueError):
            entry.save()

    def test_the_database_refuses_updates(self):
        entry = audit_record(action=AuditEntry.Action.LOGIN, actor=self.alice)
        with self.assertRaises(DatabaseError), transaction.atomic():
            AuditEntry.objects.filter(pk=entry.pk).update(action=AuditEntry.Action.LOGOUT)
        entry.refresh_from_db()
        self.assertEqual(entry.action, AuditEntry.Action.LOGIN)


class AuditWriteTests(BaseTestCase):
    """What the hand-written append (services._append) must keep of the ORM's."""

    def chain(self, team):
        return AuditChain.objects.get(key=str(team.code))

    def test_the_entry_comes_back_saved_as_the_database_holds_it(self):
        entry = audit_record(
            action=AuditEntry.Action.LOGIN,
            actor=self.alice,
            context=AuditContext(ip="2001:DB8::1", user_agent="Agent"),
        )
        self.assertIsNotNone(entry.pk)
        self.assertFalse(entry._state.adding)
        stored = AuditEntry.objects.get(pk=entry.pk)
        for field in AuditEntry._meta.concrete_fields:
            self.assertEqual(
                getattr(stored, field.attname), getattr(entry, field.attname), field.name
            )
        self.assertEqual(stored.hash, entry_hash(stored))

    def test_an_event_rolled_back_with_its_change_leaves_no_entry_and_the_head_unmoved(self):
        audit_record(action=AuditEntry.Action.LOGIN, actor=self.alice)
        before = self.chain(self.team)
        with self.assertRaises(RuntimeError), transaction.atomic():
            audit_record(action=AuditEntry.Action.TEAM_RENAMED, actor=self.alice)
            raise RuntimeError("the change fails")
        after = self.chain(self.team)
        self.assertEqual((after.last_seq, after.last_hash), (before.last_seq, before.last_hash))
        self.assertFalse(AuditEntry.objects.filter(action=AuditEntry.Action.TEAM_RENAMED).exists())
        # The next entry takes the place the rolled-back one had, and the chain holds.
        entry = audit_record(action=AuditEntry.Action.LOGOUT, actor=self.alice)
        self.assertEqual(entry.seq, before.last_seq + 1)
        self.assertIn("ok", verify(self.team))

    def test_a_batch_of_reads_of_two_teams_goes_to_two_chains(self):
        with collecting():
            for _ in range(3):
                audit_record(action=AuditEntry.Action.ALERTS_READ, actor=self.alice)
            audit_record(action=AuditEntry.Action.ALERTS_READ, actor=self.charlie)
            audit_record(action=AuditEntry.Action.ALERTS_READ, actor=self.alice)
        alices = AuditEntry.objects.filter(chain=str(self.team.code)).order_by("seq")
        self.assertEqual([e.seq for e in alices], [1, 2, 3, 4])
        self.assertEqual(self.chain(self.team).last_hash, alices.last().hash)
        self.assertEqual(self.chain(self.charlies_team).last_seq, 1)
        self.assertIn("4 entries, ok", verify(self.team))
        self.assertIn("1 entries, ok", verify(self.charlies_team))


@pytest.mark.skipif("connection.vendor != 'postgresql'")
class AppendAloneTests(TransactionTestCase):
    """Outside any transaction, PostgreSQL appends with BEGIN and COMMIT sent along with
    the two statements (services._append_alone): what fails in between leaves nothing
    behind, not even an open transaction holding the chain's lock."""

    def setUp(self):
        self.alice = make_user("alice@example.org")
        self.team = self.alice.membership.team
        audit_record(action=AuditEntry.Action.LOGIN, actor=self.alice)
        self.head = AuditChain.objects.get(key=str(self.team.code))

    def assertNothingBehind(self):
        self.assertFalse(connection.in_atomic_block)
        self.assertEqual(connection.connection.info.transaction_status, TransactionStatus.IDLE)
        head = AuditChain.objects.get(key=str(self.team.code))
        self.assertEqual((head.last_seq, head.last_hash), (self.head.last_seq, self.head.last_hash))
        self.assertEqual(AuditEntry.objects.filter(team=self.team).count(), 1)
        # The chain goes on from where it was.
        with collecting():
            audit_record(action=AuditEntry.Action.ALERTS_READ, actor=self.alice)
        self.assertEqual(connection.connection.info.transaction_status, TransactionStatus.IDLE)
        self.assertIn("2 entries, ok", verify(self.team))

    def test_reads_are_committed_and_chained(self):
        with collecting():
            for _ in range(3):
                audit_record(action=AuditEntry.Action.ALERTS_READ, actor=self.alice)
        self.assertEqual(connection.connection.info.transaction_status, TransactionStatus.IDLE)
        self.assertIn("4 entries, ok", verify(self.team))

    def test_a_failure_between_the_two_statements_rolls_back(self):
        with (
            mock.patch.object(services, "entry_hash", side_effect=RuntimeError("boom")),
            self.assertRaises(RuntimeError),
            collecting(),
        ):
            audit_record(action=AuditEntry.Action.ALERTS_READ, actor=self.alice)
        self.assertNothingBehind()

    def test_an_insert_the_database_refuses_commits_nothing(self):
        # An action longer than its column: the INSERT fails, so its COMMIT never runs.
        with self.assertRaises(DataError):
            audit_record(action="x" * 60, actor=self.alice)
        self.assertNothingBehind()
