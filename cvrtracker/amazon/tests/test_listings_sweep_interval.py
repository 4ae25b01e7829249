import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from cvrtracker.amazon.models import SyncJob
from cvrtracker.amazon.sync.jobs import connection_sync
from cvrtracker.test import BaseTestCase

from .helpers import connect_seller, run_until_done
from .test_settings_page import make_connection

ROOT = Path(__file__).resolve().parents[3]


def load_settings(value: str | None) -> subprocess.CompletedProcess:
    """Import the settings module in a fresh interpreter with LISTINGS_SWEEP_MINUTES=`value`."""
    env = {k: v for k, v in os.environ.items() if k != "LISTINGS_SWEEP_MINUTES"}
    if value is not None:
        env["LISTINGS_SWEEP_MINUTES"] = value
    code = "import cvrtracker.settings as s; print(s.LISTINGS_SWEEP_MINUTES)"
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_the_sweep_is_hourly_by_default():
    assert load_settings(None).stdout.strip() == "60"


def test_a_valid_value_is_taken():
    assert load_settings("90").stdout.strip() == "90"


@pytest.mark.parametrize("value", ["abc", "0", "-60", "14", "1441", "1.5", ""])
def test_nonsense_stops_the_start_with_a_clear_error(value):
    answer = load_settings(value)
    assert answer.returncode != 0
    assert "ImproperlyConfigured: LISTINGS_SWEEP_MINUTES must be a whole number" in answer.stderr
    assert repr(value) in answer.stderr


class SweepIntervalTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, sync_sim, settings):
        self.sim, self.settings = sync_sim, settings
        self.connection = connect_seller(sync_sim, team=self.team, user=self.alice)
        connection_sync(connection=self.connection)

    def test_the_next_sweep_is_due_the_setting_after_the_last_one(self):
        self.settings.LISTINGS_SWEEP_MINUTES = 90
        before = timezone.now()
        run_until_done(SyncJob.objects.get(kind="listings"))
        job = SyncJob.objects.get(kind="listings")
        after = job.last_success_at
        assert before <= after
        assert job.next_run_at == after + timedelta(minutes=90)
        # The other kinds keep their own intervals.
        run_until_done(SyncJob.objects.get(kind="inventory"))
        inventory = SyncJob.objects.get(kind="inventory")
        assert inventory.next_run_at == inventory.last_success_at + timedelta(hours=1)


class SettingsPageSweepTestCase(BaseTestCase):
    def test_it_says_how_often_listings_are_read(self):
        make_connection(self.team, "A1ALICE")
        self.client.force_login(self.alice)
        response = self.client.get("/amazon/")
        self.assertContains(response, "Tracked listings are read every hour")
        with self.settings(LISTINGS_SWEEP_MINUTES=90):
            self.assertContains(self.client.get("/amazon/"), "read every 90 minutes")
        with self.settings(LISTINGS_SWEEP_MINUTES=180):
            self.assertContains(self.client.get("/amazon/"), "read every 3 hours")
