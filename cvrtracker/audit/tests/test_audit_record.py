from django.db import DatabaseError, transaction
from django.test import RequestFactory

from cvrtracker.audit.models import AuditEntry
from cvrtracker.audit.services import audit_record
from cvrtracker.test import BaseTestCase


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
