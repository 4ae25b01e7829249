"""The retention runner and the rules it owns, each on both sides of its boundary.

The clock is frozen (time_machine, tick=False): a row written on day 0 must still be
there one day before its period ends and gone one day after.
"""

from datetime import UTC, datetime, timedelta
from io import StringIO

import time_machine
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import override_settings

from cvrtracker.accounts.models import UserSession
from cvrtracker.audit.models import AuditChain, AuditEntry
from cvrtracker.audit.services import AuditContext, audit_record
from cvrtracker.audit.verify import audit_chain_verify
from cvrtracker.lib.sessions import SessionStore
from cvrtracker.privacy import retention
from cvrtracker.privacy.retention import RULES, retention_run
from cvrtracker.test import BaseTestCase

Action = AuditEntry.Action
DAY0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def at(days: float):
    return time_machine.travel(DAY0 + timedelta(days=days), tick=False)


class AuditRetentionTests(BaseTestCase):
    """Audit entries (and the IP addresses and browsers in them) go after
    AUDIT_RETENTION_DAYS; the kept part of each chain still verifies."""

    def write(self, days: float, action=Action.LOGIN):
        with at(days):
            where = AuditContext(ip="203.0.113.9", user_agent="UA")
            return audit_record(action=action, context=where, actor=self.alice)

    def chain(self):
        return str(self.team.code)

    def test_an_entry_stays_one_day_before_its_period_ends_and_goes_one_day_after(self):
        old = self.write(0)
        with override_settings(AUDIT_RETENTION_DAYS=365):
            with at(364):
                retention_run()
            self.assertTrue(AuditEntry.objects.filter(pk=old.pk).exists())
            with at(366):
                done = retention_run()
        self.assertFalse(AuditEntry.objects.filter(pk=old.pk).exists())
        self.assertEqual(done["audit"], 1)

    def test_month_11_is_kept_and_month_13_is_not(self):
        thirteen = self.write(0)
        eleven = self.write(61)  # 11 months before day 396
        with override_settings(AUDIT_RETENTION_DAYS=365), at(61 + 335):
            retention_run()
        self.assertFalse(AuditEntry.objects.filter(pk=thirteen.pk).exists())
        self.assertTrue(AuditEntry.objects.filter(pk=eleven.pk).exists())

    def test_the_kept_part_of_a_pruned_chain_still_verifies_and_still_catches_tampering(self):
        for day in (0, 1, 2, 400, 401):
            self.write(day)
        with override_settings(AUDIT_RETENTION_DAYS=365), at(380):
            deleted = retention_run()["audit"]
        self.assertEqual(deleted, 3)
        kept = AuditEntry.objects.filter(chain=self.chain()).order_by("seq")
        self.assertEqual([e.seq for e in kept], [4, 5])
        head = AuditChain.objects.get(key=self.chain())
        self.assertEqual(head.pruned_seq, 3)
        self.assertTrue(audit_chain_verify(key=self.chain()).ok)
        # A later entry is appended after the kept ones and the chain still holds.
        self.write(402)
        self.assertTrue(audit_chain_verify(key=self.chain()).ok)
        # Deleting a kept entry is still found: pruning did not blind the check.
        AuditEntry.objects.filter(chain=self.chain(), seq=4).delete()
        report = audit_chain_verify(key=self.chain())
        self.assertFalse(report.ok)
        self.assertIn("removed", " ".join(report.problems))

    def test_pruning_twice_moves_the_start_forward_and_leaves_other_chains_alone(self):
        for day in (0, 100, 200):
            self.write(day)
        with at(0):
            other = audit_record(action=Action.LOGIN, actor=self.charlie)
        with override_settings(AUDIT_RETENTION_DAYS=90):
            with at(150):
                retention_run()
            self.assertEqual(AuditChain.objects.get(key=self.chain()).pruned_seq, 1)
            with at(250):
                retention_run()
        self.assertEqual(AuditChain.objects.get(key=self.chain()).pruned_seq, 2)
        self.assertFalse(AuditEntry.objects.filter(pk=other.pk).exists())
        for key in (self.chain(), str(self.charlies_team.code)):
            self.assertTrue(audit_chain_verify(key=key).ok, key)


class SessionAndLoginRetentionTests(BaseTestCase):
    def test_session_records_go_twelve_months_after_they_were_last_seen(self):
        with at(0):
            old = UserSession.objects.create(
                user=self.alice, session_key="a" * 32, ip="198.51.100.4", user_agent="Old"
            )
        with at(30):
            recent = UserSession.objects.create(
                user=self.alice, session_key="b" * 32, ip="198.51.100.5", user_agent="New"
            )
        with override_settings(USAGE_RETENTION_DAYS=365):
            with at(364):
                retention_run()
            self.assertTrue(UserSession.objects.filter(pk=old.pk).exists())
            with at(366):
                self.assertEqual(retention_run()["user_sessions"], 1)
        self.assertFalse(UserSession.objects.filter(pk=old.pk).exists())
        self.assertTrue(UserSession.objects.filter(pk=recent.pk).exists())

    def test_log_in_records_go_after_twelve_months(self):
        rows = []
        for model in (AccessAttempt, AccessLog, AccessFailureLog):
            with at(0):
                rows.append(
                    model.objects.create(
                        username="alice@example.org",
                        ip_address="192.0.2.7",
                        user_agent="Agent",
                        **({"failures_since_start": 1} if model is AccessAttempt else {}),
                    )
                )
        with override_settings(USAGE_RETENTION_DAYS=365):
            with at(364):
                retention_run()
            for row in rows:
                self.assertTrue(type(row).objects.filter(pk=row.pk).exists(), type(row))
            with at(366):
                self.assertEqual(retention_run()["login_records"], 3)
        for row in rows:
            self.assertFalse(type(row).objects.filter(pk=row.pk).exists(), type(row))

    def test_expired_django_sessions_go_and_live_ones_stay(self):
        with at(0):
            store = SessionStore()
            store["x"] = 1
            store.set_expiry(3600)
            store.create()
        with at(0.04):  # 58 minutes later: still valid
            retention_run()
        self.assertTrue(Session.objects.filter(session_key=store.session_key).exists())
        with at(0.05):  # 72 minutes later: expired
            self.assertEqual(retention_run()["django_sessions"], 1)
        self.assertFalse(Session.objects.filter(session_key=store.session_key).exists())


class RunnerTests(BaseTestCase):
    def test_every_rule_is_importable_and_described(self):
        names = [rule.name for rule in RULES]
        self.assertEqual(len(names), len(set(names)))
        for rule in RULES:
            self.assertTrue(callable(rule.load()), rule.name)
            self.assertTrue(rule.description)

    def test_a_failing_rule_does_not_stop_the_others_but_fails_the_run(self):
        with at(0):
            UserSession.objects.create(user=self.alice, session_key="c" * 32)
        broken = retention.RetentionRule("broken", "cvrtracker.privacy.retention:nowhere", "x")
        with (
            override_settings(USAGE_RETENTION_DAYS=30),
            at(40),
            self.assertLogs("cvrtracker.privacy.retention", "ERROR"),
        ):
            original = retention.RULES
            retention.RULES = (broken, *original)
            try:
                with self.assertRaises(RuntimeError):
                    retention_run()
            finally:
                retention.RULES = original
        self.assertFalse(UserSession.objects.filter(session_key="c" * 32).exists())

    def test_the_command_runs_every_rule_and_says_what_it_deleted(self):
        with at(0):
            UserSession.objects.create(user=self.alice, session_key="d" * 32)
        out = StringIO()
        with override_settings(USAGE_RETENTION_DAYS=30), at(40):
            call_command("retention_run", stdout=out)
        text = out.getvalue()
        for rule in RULES:
            self.assertIn(rule.name, text)
        self.assertIn("user_sessions: 1", text)

    def test_the_scheduler_runs_retention_daily(self):
        from cvrtracker.lib.periodic import periodic_jobs

        jobs = {job.name: job for job in periodic_jobs()}
        self.assertIn("privacy.retention", jobs)
        self.assertEqual(jobs["privacy.retention"].every_seconds, 24 * 3600)
