"""The events issue 13 lists are in the trail, with who, which team, what, which
object, when and from which IP; reads of a page are written in one batch at its end."""

from unittest import mock

from django.db import DatabaseError, transaction
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from cvrtracker.amazon.tests.test_settings_page import make_connection
from cvrtracker.audit import services
from cvrtracker.audit.models import AuditEntry
from cvrtracker.audit.services import AuditContext, audit_record, collecting
from cvrtracker.test import BaseTestCase

Action = AuditEntry.Action
IP = "203.0.113.77"


class SecurityEventTests(BaseTestCase):
    def last(self, action) -> AuditEntry:
        return AuditEntry.objects.filter(action=action).latest("seq")

    def assertEntry(self, action, *, actor, team, target=None, ip=IP):
        entry = self.last(action)
        self.assertEqual((entry.actor, entry.team, entry.ip), (actor, team, ip))
        if target is not None:
            self.assertEqual(entry.target_code, str(target.code))
        self.assertIsNotNone(entry.created_at)
        return entry

    def test_renaming_the_team(self):
        self.client.force_login(self.alice)
        self.client.post(
            "/accounts/settings/team/", {"rename": "1", "name": "Acme"}, REMOTE_ADDR=IP
        )
        entry = self.assertEntry(
            Action.TEAM_RENAMED, actor=self.alice, team=self.team, target=self.team
        )
        self.assertIn("Acme", entry.detail)

    def test_cancelling_an_invitation(self):
        self.client.force_login(self.alice)
        self.client.post(
            "/accounts/settings/team/", {"invite": "1", "email": "dan@example.org"}, REMOTE_ADDR=IP
        )
        invitation = self.team.invitations.get()
        self.assertEntry(Action.MEMBER_INVITED, actor=self.alice, team=self.team, target=invitation)
        self.client.post(
            f"/accounts/settings/team/invitations/{invitation.code}/cancel/", REMOTE_ADDR=IP
        )
        self.assertEntry(
            Action.INVITATION_CANCELLED, actor=self.alice, team=self.team, target=invitation
        )

    def test_removing_a_member_keeps_the_owners_address(self):
        member = self.team.memberships.get(user=self.bob)
        self.client.force_login(self.alice)
        self.client.post(f"/accounts/settings/team/members/{member.code}/remove/", REMOTE_ADDR=IP)
        self.assertEntry(Action.MEMBER_REMOVED, actor=self.alice, team=self.team, target=self.bob)

    def test_reading_settings_amazon_records_each_account_shown(self):
        ours = [make_connection(self.team, "A1ONE"), make_connection(self.team, "A1TWO")]
        make_connection(self.charlies_team, "A1THEIRS")
        self.client.force_login(self.bob)
        self.assertEqual(self.client.get("/amazon/", REMOTE_ADDR=IP).status_code, 200)
        reads = AuditEntry.objects.filter(action=Action.AMAZON_SETTINGS_READ)
        self.assertEqual({e.target_code for e in reads}, {str(c.code) for c in ours})
        self.assertEqual({(e.actor, e.team, e.ip) for e in reads}, {(self.bob, self.team, IP)})

    def test_reading_the_products_page(self):
        connection = make_connection(self.team, "A1ONE")
        self.client.force_login(self.bob)
        self.client.get(f"/amazon/{connection.code}/products/", REMOTE_ADDR=IP)
        self.assertEntry(
            Action.AMAZON_PRODUCTS_READ, actor=self.bob, team=self.team, target=connection
        )

    def test_an_outsider_is_refused_and_no_read_is_recorded(self):
        connection = make_connection(self.team, "A1ONE")
        self.client.force_login(self.charlie)
        response = self.client.get(f"/amazon/{connection.code}/products/")
        self.assertEqual(response.status_code, 404)
        self.assertFalse(AuditEntry.objects.filter(action=Action.AMAZON_PRODUCTS_READ).exists())

    def test_the_reads_of_a_page_are_written_in_one_insert_at_its_end(self):
        for n in range(3):
            make_connection(self.team, f"A1N{n}")
        self.client.force_login(self.alice)
        with CaptureQueriesContext(db) as queries:
            self.client.get("/amazon/")
        inserts = [q for q in queries if 'INSERT INTO "audit_auditentry"' in q["sql"]]
        self.assertEqual(len(inserts), 1)
        self.assertEqual(AuditEntry.objects.filter(action=Action.AMAZON_SETTINGS_READ).count(), 3)

    def test_a_page_whose_reads_cannot_be_written_is_not_served(self):
        make_connection(self.team, "A1ONE")
        self.client.force_login(self.alice)
        failing = mock.patch.object(services, "_append", side_effect=DatabaseError("disk full"))
        # (In a block of its own: the failed write dooms the transaction it is in.)
        with failing, self.assertRaises(DatabaseError), transaction.atomic():
            self.client.get("/amazon/")
        self.assertFalse(AuditEntry.objects.filter(action=Action.AMAZON_SETTINGS_READ).exists())
        # The control: the same page is served once its reads can be written.
        self.assertEqual(self.client.get("/amazon/").status_code, 200)

    def test_outside_a_request_each_entry_is_written_at_once(self):
        # The control of the test above: without the collector, three INSERTs.
        connections = [make_connection(self.team, f"A1N{n}") for n in range(3)]
        with CaptureQueriesContext(db) as queries:
            for connection in connections:
                audit_record(
                    action=Action.AMAZON_SETTINGS_READ, actor=self.alice, target=connection
                )
        inserts = [q for q in queries if 'INSERT INTO "audit_auditentry"' in q["sql"]]
        self.assertEqual(len(inserts), 3)

    def test_a_job_can_collect_and_audit_with_an_explicit_context(self):
        context = AuditContext(actor=None, team=self.team, ip=None, user_agent="scheduler")
        with collecting():
            audit_record(action=Action.ALERTS_READ, context=context)
            self.assertFalse(AuditEntry.objects.filter(action=Action.ALERTS_READ).exists())
        entry = self.last(Action.ALERTS_READ)
        self.assertEqual(
            (entry.actor, entry.team, entry.user_agent), (None, self.team, "scheduler")
        )

    def test_an_ipv6_address_is_kept_and_the_chain_still_verifies(self):
        from io import StringIO

        from django.core.management import call_command

        audit_record(
            action=Action.LOGIN, actor=self.alice, context=AuditContext(ip="2001:DB8:0:0::0001")
        )
        self.assertEqual(self.last(Action.LOGIN).ip, "2001:db8::1")
        out = StringIO()
        call_command("audit_verify", "--team", str(self.team.code), stdout=out)
        self.assertIn("ok", out.getvalue())
