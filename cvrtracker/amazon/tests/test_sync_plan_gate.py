"""A team whose plan ended keeps its data but stops calling Amazon."""

from datetime import timedelta

from django.test import override_settings
from django.utils import timezone

from cvrtracker.accounts.models import Team
from cvrtracker.amazon import tasks
from cvrtracker.amazon.models import SellerConnection, SyncJob
from cvrtracker.amazon.sync.schedule import claim
from cvrtracker.test import BaseTestCase


@override_settings(BILLING_ENFORCED=True)
class SyncPlanGateTests(BaseTestCase):
    def setUp(self):
        self.connection = SellerConnection.objects.create(
            team=self.team, region="NA", selling_partner_id="AGATE"
        )
        self.job = SyncJob.objects.create(
            connection=self.connection, kind=SyncJob.Kind.LISTINGS, next_run_at=timezone.now()
        )

    def end_the_trial(self):
        # The trial runs 14 days from the team's creation; nobody subscribed.
        Team.objects.filter(pk=self.team.pk).update(created_at=timezone.now() - timedelta(days=30))
        self.team.refresh_from_db()

    def test_a_team_on_its_trial_syncs(self):
        self.assertEqual(tasks._active(self.connection.pk), self.connection)

    def test_a_team_whose_trial_ended_does_not(self):
        self.end_the_trial()
        self.assertIsNone(tasks._active(self.connection.pk))
        # Even holding a valid claim, the job stops before any call: nothing is
        # attempted, so no error is recorded and no run is started.
        token = claim(SyncJob, self.job.pk, "next_run_at", self.job.next_run_at)
        self.assertEqual(tasks.run_sync_job.call(self.job.pk, token), -1)
        self.job.refresh_from_db()
        self.assertEqual((self.job.attempts, self.job.last_error, self.job.run_id), (0, "", ""))
