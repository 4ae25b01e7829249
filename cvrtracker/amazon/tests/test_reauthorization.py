"""The yearly renewal Amazon asks of sellers ("Renew Authorizations", 365 days): the
owner is warned once, 30 days before, with a link that renews through the consent flow."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core.management import call_command

from cvrtracker.amazon.authorization import connections_warn_reauthorization
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.amazon.services import connection_disconnect
from cvrtracker.test import BaseTestCase

from .helpers import confirm_consent, connect_seller

TRIAL_SELLER_ACCOUNTS = 5  # the trial has Pro's limits (cvrtracker/billing/plans.py)


class ReauthorizationTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, sim):
        self.sim = sim

    def setUp(self):
        super().setUp()
        self.connection = connect_seller(self.sim, team=self.team, user=self.alice)
        self.authorized = self.connection.authorized_at

    def warn(self) -> int:
        with self.captureOnCommitCallbacks(execute=True):
            return connections_warn_reauthorization()

    def test_a_new_connection_is_authorized_now(self):
        assert self.authorized is not None
        assert self.connection.authorization_expires_at() == self.authorized + timedelta(days=365)

    def test_the_owner_is_warned_once_at_335_days_with_a_reconnect_link(self):
        with time_machine.travel(self.authorized + timedelta(days=334), tick=False):
            assert self.warn() == 0
        with time_machine.travel(self.authorized + timedelta(days=335, minutes=1), tick=False):
            assert self.warn() == 1
            assert self.warn() == 0  # once per authorization
        with time_machine.travel(self.authorized + timedelta(days=340), tick=False):
            assert self.warn() == 0
        (message,) = self.mailbox.messages
        assert message["To"] == "alice@example.org"
        assert "re-authorize" in message["Subject"]
        expires = self.authorized + timedelta(days=365)
        assert expires.strftime("%B %-d, %Y") in self.mailbox.body(message)
        link = self.link_in(message)
        assert link.endswith(f"/amazon/connect/NA/?renew={self.connection.code}")
        assert SellerConnection.objects.get().reauthorize_warned_at is not None

    def test_a_disconnected_connection_is_not_warned(self):
        connection_disconnect(connection=self.connection)
        with time_machine.travel(self.authorized + timedelta(days=340), tick=False):
            assert self.warn() == 0
        assert not self.mailbox.messages

    def test_an_expired_authorization_is_not_warned_any_more(self):
        with time_machine.travel(self.authorized + timedelta(days=366), tick=False):
            assert self.warn() == 0

    def test_the_scheduler_sends_the_warnings(self):
        with (
            time_machine.travel(self.authorized + timedelta(days=336), tick=False),
            self.captureOnCommitCallbacks(execute=True),
        ):
            call_command("scheduler", "--once", stdout=open("/dev/null", "w"))  # noqa: SIM115
        assert len(self.mailbox.messages) == 1

    def test_the_link_renews_the_connection_through_the_consent_page_even_at_the_plan_limit(self):
        for i in range(TRIAL_SELLER_ACCOUNTS - 1):
            SellerConnection.objects.create(team=self.team, region="NA", selling_partner_id=f"A{i}")
        later = self.authorized + timedelta(days=336)
        with time_machine.travel(later, tick=False):
            self.warn()
            link = urlsplit(self.link_in(self.mailbox.messages[0]))
            self.client.force_login(self.alice)
            # Without the renewal, a team at its plan limit would be sent to billing.
            self.assertRedirects(
                self.client.get(link.path), "/billing/", fetch_redirect_response=False
            )
            path = f"{link.path}?{link.query}"
            self.client.force_login(self.alice)
            response = self.client.get(path)
            assert response.status_code == 302
            assert response["Location"].startswith(self.sim.base_url)  # not to billing
            callback = confirm_consent(self.sim, response["Location"])
            self.assertRedirects(self.client.get(callback), "/amazon/")
        renewed = SellerConnection.objects.get(pk=self.connection.pk)
        assert renewed.authorized_at == later
        assert renewed.reauthorize_warned_at is None
        assert renewed.reauthorize_by(later) is None
        # The next warning comes 335 days after the renewal, not before.
        with time_machine.travel(later + timedelta(days=300), tick=False):
            assert self.warn() == 0

    def test_settings_shows_the_date_from_30_days_before(self):
        with time_machine.travel(self.authorized + timedelta(days=300), tick=False):
            self.client.force_login(self.alice)
            self.assertNotContains(self.client.get("/amazon/"), "re-authorize by")
        with time_machine.travel(self.authorized + timedelta(days=340), tick=False):
            self.client.force_login(self.alice)
            page = self.client.get("/amazon/")
        expires = self.authorized + timedelta(days=365)
        self.assertContains(page, f"Amazon asks you to re-authorize by {expires:%B} {expires.day}")
        self.assertContains(page, f"?renew={self.connection.code}")
        with time_machine.travel(self.authorized + timedelta(days=340), tick=False):
            self.client.force_login(self.bob)  # a teammate sees it, without the link
            page = self.client.get("/amazon/")
        self.assertContains(page, "re-authorize by")
        self.assertNotContains(page, f"?renew={self.connection.code}")
