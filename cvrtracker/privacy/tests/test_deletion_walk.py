"""After the purge nothing of a deleted account or its team is left in any table.

The walk goes over every model Django knows (django.apps.apps.get_models()), so a new
model cannot keep something by accident: it either holds nothing of the deleted
account, or it is listed below with the reason it may.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.db import models
from django.db.models.functions import Cast
from django.test import Client, override_settings
from django.utils import timezone

from cvrtracker.accounts.models import (
    AuthenticatorDevice,
    Invitation,
    Membership,
    RecoveryCode,
    Team,
    User,
)
from cvrtracker.accounts.services import member_remove, team_rename
from cvrtracker.alerts.channels import alert_channel_create
from cvrtracker.alerts.models import Delivery
from cvrtracker.alerts.tests.helpers import make_alert, make_rule
from cvrtracker.amazon.models import SyncJob
from cvrtracker.amazon.sync.jobs import connection_sync
from cvrtracker.amazon.tests.conftest import synced_simulator
from cvrtracker.amazon.tests.helpers import connect_seller, run_until_done
from cvrtracker.api.services import api_key_create
from cvrtracker.api.tests.helpers import seller_with_listings
from cvrtracker.audit.chain import chain_key
from cvrtracker.audit.models import AuditEntry
from cvrtracker.audit.services import AuditContext, audit_record
from cvrtracker.audit.verify import audit_chain_verify
from cvrtracker.billing.models import BillingRecord, Notice, Subscription
from cvrtracker.privacy.deletion import account_delete, deletion_purge_due
from cvrtracker.privacy.models import (
    AnonymousCounter,
    ConnectionDeletion,
    DataExport,
    RightsRequest,
    SupportRequest,
    UsageEvent,
)
from cvrtracker.test import PASSWORD, BaseTestCase, make_user

# Rows that may stay after the purge, and why (the privacy page says the same).
KEPT = {
    "billing.BillingRecord": "accounting: invoice number, amount, currency, date and the "
    "team's random code; no name, email or address",
    "privacy.AnonymousCounter": "anonymous site-wide totals",
}
# Entries the deleted user left in ANOTHER team's chain keep their old id, which names
# nobody once the row is gone, until AUDIT_RETENTION_DAYS ends them.
KEPT_IDS = {"audit.AuditEntry.actor": "another team's trail, pseudonymous"}
# Counted before Zelda's own data was made, so these rows of hers are in the count:
# her user, the team she got when alice removed her, its membership; and of the
# staying team, the invitation that was addressed to her (it holds her email address).
CHANGED = {
    "accounts.User": -1,
    "accounts.Team": -1,
    "accounts.Membership": -1,
    "accounts.Invitation": -1,
}

TEXT = (models.CharField, models.TextField, models.JSONField)
NAME, EMAIL, TEAM_NAME = "Zelda Quillfeather", "zelda.quill@example.org", "Quillfeather Garden"


def counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


class DeletionWalkTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, settings):
        with synced_simulator(settings) as server:
            self.sim = server
            settings.LISTINGS_DISCOVERY_MINUTES = 0
            yield

    def fill_staying_team(self):
        """Alice's team (she stays), with a synced seller, metrics, listings, a change."""
        self.staying_connection, *_ = seller_with_listings(
            self.team, self.alice, seller_id="A2STAYS", store_name="Alice Outdoor"
        )
        api_key_create(team=self.team, name="Alice's sheet", actor=self.alice)

    def zelda_passes_through_alices_team(self) -> User:
        """Zelda joins alice's team by invitation, does things there, is removed."""
        zelda = make_user(EMAIL, team=self.team, role=Membership.Role.MEMBER)
        zelda.name = NAME
        zelda.save(update_fields=["name"])
        Invitation.objects.create(
            team=self.team, email=EMAIL, invited_by=self.alice, accepted_at=timezone.now()
        )
        audit_record(action=AuditEntry.Action.MEMBER_JOINED, actor=zelda, team=self.team)
        api_key_create(team=self.team, name="Team sheet", actor=zelda)
        member_remove(membership=zelda.membership, actor=self.alice)
        zelda.refresh_from_db()
        return zelda

    def fill_zeldas_team(self, zelda: User) -> Team:
        """Everything a busy account holds: synced Amazon data, alerts, billing, keys,
        sessions, two-factor, usage data, exports, requests, log-in attempts."""
        team = zelda.membership.team
        team_rename(team=team, name=TEAM_NAME, actor=zelda)
        team.refresh_from_db()
        # A seller synced from the simulator: listings, snapshots, inventory, orders.
        synced = connect_seller(self.sim, team=team, user=zelda)
        connection_sync(connection=synced)
        for kind in ("listings", "inventory", "orders"):
            run_until_done(SyncJob.objects.get(connection=synced, kind=kind))
        # And one with two years of metrics, titled listings and a price change.
        connection, *_ = seller_with_listings(
            team, zelda, seller_id="A1ZELDA", store_name=f"{NAME}'s store"
        )
        channel = alert_channel_create(user=zelda, kind="email", name="Me", member=zelda)
        other = alert_channel_create(
            user=zelda, kind="email", name="Shop", target="shop@quillfeather.example"
        )
        rule = make_rule(team, channel, other, user=zelda)
        alert = make_alert(rule, connection)
        Delivery.objects.create(alert=alert, channel=channel)
        api_key_create(team=team, name=f"{NAME}'s key", actor=zelda)
        Invitation.objects.create(team=team, email="friend@example.net", invited_by=zelda)
        Subscription.objects.update_or_create(
            team=team,
            defaults={"trial_ends_at": timezone.now() + timedelta(days=3), "status": "trialing"},
        )
        Notice.objects.create(team=team, kind=Notice.Kind.TRIAL_ENDING, key="1")
        BillingRecord.objects.create(
            team=team,
            team_code=team.code,
            stripe_invoice_id="in_zelda",
            number="CVR-ZQ01",
            amount=1900,
            currency="usd",
            issued_at=timezone.now(),
            status="paid",
        )
        device = AuthenticatorDevice.objects.create(
            user=zelda, name="Zelda's phone", confirmed=True
        )
        RecoveryCode.objects.create(user=zelda, digest="d" * 64)
        AuthenticatorDevice.objects.filter(pk=device.pk).delete()  # log in without a second step
        browser = Client(HTTP_USER_AGENT="Zelda's browser")
        browser.post("/accounts/login/", {"username": EMAIL, "password": "wrong password!"})
        assert browser.post("/accounts/login/", {"username": EMAIL, "password": PASSWORD})
        AuthenticatorDevice.objects.create(user=zelda, name="Zelda's phone", confirmed=True)
        UsageEvent.objects.create(user=zelda, ip="203.0.113.7", method="GET", path="/overview/")
        DataExport.objects.create(requested_by=zelda, team=team, step=f"for {NAME}")
        RightsRequest.objects.create(
            kind="access", user=zelda, name=NAME, email=EMAIL, due_at=timezone.now()
        )
        SupportRequest.objects.create(
            user=zelda, name=NAME, email=EMAIL, subject="Help", message=f"I am {NAME}"
        )
        ConnectionDeletion.objects.create(
            team=team,
            connection_code=connection.code,
            reason="disconnected",
            stopped_at=timezone.now(),
        )
        return team

    @override_settings(ACCOUNT_DELETION_GRACE_DAYS=0)
    def test_nothing_of_a_deleted_account_and_its_team_remains(self):
        self.fill_staying_team()
        zelda = self.zelda_passes_through_alices_team()
        before = counts()
        team = self.fill_zeldas_team(zelda)
        held = {label for label, n in counts().items() if n > before.get(label, 0)}
        # The data set is realistic: every kind of seller data exists for the walk.
        for label in (
            "metrics.MetricBlock",
            "metrics.Order",
            "metrics.OrderItem",
            "listings.Listing",
            "listings.ListingSnapshot",
            "listings.ListingChange",
            "listings.InventoryLevel",
            "alerts.Alert",
            "alerts.Delivery",
            "amazon.SalesTrafficDay",
            "accounts.UserSession",
            "sessions.Session",
            "accounts.AuthenticatorDevice",
            # axes.AccessLog stays empty: successful log-ins are not logged by axes
            # (privacy/login_records.py).
            "axes.AccessFailureLog",
        ):
            assert label in held, f"the data set has no {label}"
        user_id, team_id = zelda.pk, team.pk

        with self.captureOnCommitCallbacks(execute=True):
            account_delete(user=zelda, context=AuditContext(actor=zelda, ip="203.0.113.7"))
        assert deletion_purge_due(now=timezone.now()) > 0

        # No row points at the deleted user or team through any foreign key.
        left = []
        for model in apps.get_models():
            for field in model._meta.concrete_fields:
                if not field.is_relation or field.related_model not in (User, Team):
                    continue
                target = user_id if field.related_model is User else team_id
                rows = model.objects.filter(**{field.attname: target})
                label = f"{model._meta.label}.{field.name}"
                if label in KEPT_IDS:
                    rows = rows.exclude(chain=chain_key(self.team.code))
                if rows.exists():
                    left.append(label)
        assert left == []
        assert not User.objects.filter(pk=user_id).exists()
        assert not Team.objects.filter(pk=team_id).exists()

        # No text of any row holds the user's email, name or team's name.
        found = []
        for model in apps.get_models():
            for field in model._meta.concrete_fields:
                if not isinstance(field, TEXT):
                    continue
                column = Cast(field.name, models.TextField())
                for needle in (EMAIL, NAME, TEAM_NAME, "quillfeather"):
                    rows = model.objects.annotate(_text=column).filter(_text__icontains=needle)
                    if rows.exists():
                        found.append(f"{model._meta.label}.{field.name} holds {needle!r}")
        assert found == []

        # The staying team's rows are all there; what changed is listed with its reason.
        after = counts()
        changed = {
            label: after[label] - before.get(label, 0)
            for label in after
            if after[label] != before.get(label, 0)
        }
        assert {k: v for k, v in changed.items() if k not in KEPT} == CHANGED
        assert changed["billing.BillingRecord"] == 1
        assert BillingRecord.objects.get(stripe_invoice_id="in_zelda").team is None
        assert {"accounts_deleted", "teams_deleted"} <= set(
            AnonymousCounter.objects.values_list("key", flat=True)
        )
        # Alice's seller data still reads, and her trail still verifies.
        assert self.staying_connection.store_name == "Alice Outdoor"
        assert audit_chain_verify(key=chain_key(self.team.code)).ok
        assert AuditEntry.objects.filter(chain=chain_key(self.team.code), actor_id=user_id)
