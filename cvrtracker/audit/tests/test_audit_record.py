from io import StringIO

from django.core.management import call_command
from django.db import DatabaseError, transaction
from django.test import RequestFactory

from cvrtracker.audit.chain import entry_hash
from cvrtracker.audit.models import AuditChain, AuditEntry
from cvrtracker.audit.services import AuditContext, audit_record, collecting
from cvrtracker.test import BaseTestCase


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
