"""account_delete and the purge that follows (privacy/deletion.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.db import connection as db
from django.db import transaction
from django.db.utils import DatabaseError
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from cvrtracker.accounts.models import Membership, Team, User
from cvrtracker.accounts.services import member_remove, user_signup
from cvrtracker.alerts.channels import alert_channel_create, alert_channel_target
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.api.models import ApiKey
from cvrtracker.api.services import api_key_authenticate, api_key_create
from cvrtracker.api.tests.helpers import END, START, seller_with_listings
from cvrtracker.audit.chain import chain_key
from cvrtracker.audit.models import AuditChain, AuditEntry
from cvrtracker.audit.services import AuditContext, audit_record
from cvrtracker.audit.verify import audit_chain_verify
from cvrtracker.billing.models import BillingRecord, Subscription
from cvrtracker.billing.testing import FakeStripe
from cvrtracker.lib.crypto import DecryptionError
from cvrtracker.listings.models import Listing
from cvrtracker.metrics.models import MetricBlock
from cvrtracker.metrics.selectors import metrics_product_table
from cvrtracker.metrics.tests.helpers import MARKET
from cvrtracker.privacy.deletion import (
    ReauthenticationFailed,
    account_delete,
    account_deletion_plan,
    account_reauthenticate,
    deletion_purge_due,
)
from cvrtracker.privacy.models import AnonymousCounter
from cvrtracker.privacy.retention import RULES
from cvrtracker.test import PASSWORD, BaseTestCase

A = AuditEntry.Action
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def fake_stripe(settings):
    server = FakeStripe().start()
    settings.STRIPE_API_BASE = server.base_url
    settings.STRIPE_SECRET_KEY = "sk_test_fake"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    yield server
    server.stop()


def log_in(user: User) -> Client:
    client = Client()
    response = client.post(
        reverse("accounts:login"), {"username": user.email, "password": PASSWORD}
    )
    assert response.status_code == 302, response.content
    return client


def on_stripe(team: Team, stripe: FakeStripe, **kwargs) -> Subscription:
    remote = stripe.put_subscription(team_code=str(team.code), customer="cus_del", **kwargs)
    sub, _ = Subscription.objects.update_or_create(
        team=team,
        defaults={
            "trial_ends_at": timezone.now(),
            "status": remote["status"],
            "plan": "pro",
            "stripe_customer_id": "cus_del",
            "stripe_subscription_id": remote["id"],
        },
    )
    return sub


class AccountDeleteTestCase(BaseTestCase):
    """alice owns a team with bob; charlie is alone on his."""

    @pytest.fixture(autouse=True)
    def _stripe(self, fake_stripe):
        self.stripe = fake_stripe

    def delete(self, user: User):
        with self.captureOnCommitCallbacks(execute=True):
            return account_delete(user=user, context=AuditContext(actor=user, ip="203.0.113.9"))

    # At once -------------------------------------------------------------------------

    def test_log_in_is_refused_at_once_and_existing_sessions_end(self):
        browser = log_in(self.charlie)
        assert browser.get(reverse("accounts:profile")).status_code == 200
        self.delete(self.charlie)
        # The session that was open is gone: the next page sends it to log in.
        response = browser.get(reverse("accounts:profile"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))
        response = Client().post(
            reverse("accounts:login"), {"username": self.charlie.email, "password": PASSWORD}
        )
        assert response.status_code == 200
        assert "do not match an account" in response.content.decode()
        self.charlie.refresh_from_db()
        assert not self.charlie.is_active and self.charlie.deletion_requested_at

    def test_every_django_session_of_the_user_ends_even_unrecorded_ones(self):
        other = Client()
        other.force_login(self.charlie)  # no UserSession row for this one
        bobs = Client()
        bobs.force_login(self.bob)
        self.delete(self.charlie)
        keys = set(Session.objects.values_list("session_key", flat=True))
        assert other.session.session_key not in keys
        assert bobs.session.session_key in keys

    def test_the_pending_email_is_cleared(self):
        self.charlie.pending_email = "new@example.org"
        self.charlie.save(update_fields=["pending_email"])
        self.delete(self.charlie)
        self.charlie.refresh_from_db()
        assert self.charlie.pending_email == ""

    def test_an_owner_leaving_passes_ownership_to_the_longest_standing_member(self):
        dana = User.objects.create_user("dana@example.org", PASSWORD, name="Dana")
        Membership.objects.create(
            user=dana, team=self.team, created_at=timezone.now() + timedelta(days=1)
        )
        plan = account_deletion_plan(user=self.alice)
        assert plan.new_owner == self.bob and not plan.team_deleted
        self.delete(self.alice)
        assert self.team.owner() == self.bob
        assert not Membership.objects.filter(user=self.alice).exists()
        self.team.refresh_from_db()
        assert self.team.deletion_requested_at is None
        changed = AuditEntry.objects.get(action=A.TEAM_OWNER_CHANGED)
        assert changed.team_id == self.team.pk and changed.actor_id == self.alice.pk
        assert changed.target_code == str(self.bob.code)
        assert AuditEntry.objects.filter(
            action=A.ACCOUNT_DELETION_REQUESTED, actor=self.alice, team=self.team
        ).exists()
        assert not AuditEntry.objects.filter(action=A.TEAM_DELETION_REQUESTED).exists()

    def test_a_member_leaving_keeps_the_team_its_keys_and_its_subscription(self):
        key = api_key_create(team=self.team, name="Sheet", actor=self.bob)
        sub = on_stripe(self.team, self.stripe)
        self.delete(self.bob)
        assert self.team.owner() == self.alice
        assert api_key_authenticate(token=key.token) is not None
        sub.refresh_from_db()
        assert sub.status == "active" and self.stripe.calls("DELETE", "/v1/subscriptions") == []

    def test_the_last_member_deletes_the_team_keys_connections_and_subscription(self):
        key = api_key_create(team=self.charlies_team, name="Sheet", actor=self.charlie)
        sub = on_stripe(self.charlies_team, self.stripe)
        connection, _, listing, _ = seller_with_listings(
            self.charlies_team, self.charlie, seller_id="A9CHARLIE", store_name="Charlie Home"
        )
        title = connection.data_key().decrypt_str(
            bytes(listing.title_enc), aad=listing.aad("title")
        )
        assert title == "Product 0"
        self.delete(self.charlie)

        self.charlies_team.refresh_from_db()
        assert self.charlies_team.deletion_requested_at is not None
        assert api_key_authenticate(token=key.token) is None
        assert ApiKey.objects.get(pk=key.key.pk).revoked_at is not None
        # The data key is gone: every ciphertext of the connection is unreadable now.
        stopped = SellerConnection.objects.filter(pk=connection.pk).first()
        if stopped is not None:  # the disconnect purge may already have deleted it
            assert stopped.wrapped_data_key is None and stopped.refresh_token_enc is None
            assert stopped.status == SellerConnection.Status.DISCONNECTED
            assert stopped.stopped_at is not None
            with pytest.raises(DecryptionError):
                stopped.data_key()
            with pytest.raises(DecryptionError):
                metrics_product_table(
                    connection=stopped, marketplace_id=MARKET, start=START, end=END, limit=3
                )
        # Stripe was told to cancel at once, and our copy says so.
        [call] = self.stripe.calls("DELETE", f"/v1/subscriptions/{sub.stripe_subscription_id}")
        sub.refresh_from_db()
        assert sub.status == Subscription.Status.CANCELED
        actions = set(
            AuditEntry.objects.filter(team=self.charlies_team).values_list("action", flat=True)
        )
        assert {
            A.ACCOUNT_DELETION_REQUESTED,
            A.TEAM_DELETION_REQUESTED,
            A.SUBSCRIPTION_CANCELLED,
        } <= actions

    def test_the_teams_alert_channel_is_unreadable_at_once(self):
        channel = alert_channel_create(
            user=self.charlie, kind="email", name="Ops", target="ops@example.net"
        )
        assert alert_channel_target(channel) == "ops@example.net"
        self.delete(self.charlie)
        channel.refresh_from_db()
        assert channel.wrapped_key is None and channel.target_enc is None
        assert channel.status == channel.Status.PAUSED

    def test_a_confirmation_email_says_what_goes_and_when(self):
        with time_machine.travel(NOW, tick=False):
            self.delete(self.charlie)
        [message] = self.mailbox.to("charlie@example.org")
        body = self.mailbox.body(message)
        assert "is deleted" in message["Subject"]
        assert "last member of Team Charlie" in body
        assert "December 31, 2026" in body  # 30 days after December 1
        assert "invoices accounting law requires" in body

    def test_deleting_twice_changes_nothing_the_second_time(self):
        self.delete(self.charlie)
        first = User.objects.get(pk=self.charlie.pk).deletion_requested_at
        self.delete(self.charlie)
        assert User.objects.get(pk=self.charlie.pk).deletion_requested_at == first
        assert AuditEntry.objects.filter(action=A.ACCOUNT_DELETION_REQUESTED).count() == 1
        assert len(self.mailbox.to("charlie@example.org")) == 1

    # Stripe out of reach -------------------------------------------------------------

    def test_a_stripe_outage_leaves_the_account_deleted_and_the_purge_retries(self):
        sub = on_stripe(self.charlies_team, self.stripe)
        self.stripe.fail("DELETE", "/v1/subscriptions", 500, times=1)
        self.delete(self.charlie)
        # Deleted all the same: log-in refused, the team waiting for its purge.
        self.charlie.refresh_from_db()
        assert not self.charlie.is_active
        sub.refresh_from_db()
        assert sub.status == "active"  # recorded as not yet cancelled
        # The next retention run cancels it, within the grace period.
        assert deletion_purge_due(now=timezone.now()) == 0
        sub.refresh_from_db()
        assert sub.status == Subscription.Status.CANCELED
        assert len(self.stripe.calls("DELETE", "/v1/subscriptions")) == 2
        assert Team.objects.filter(pk=self.charlies_team.pk).exists()

    @override_settings(ACCOUNT_DELETION_GRACE_DAYS=0)
    def test_a_team_whose_subscription_cannot_be_cancelled_is_not_purged_yet(self):
        sub = on_stripe(self.charlies_team, self.stripe)
        self.stripe.fail("DELETE", "/v1/subscriptions", 503, times=2)
        self.delete(self.charlie)
        deletion_purge_due(now=timezone.now())
        # The team row (and so the subscription id Stripe charges) stays until cancelled.
        assert Subscription.objects.filter(pk=sub.pk, status="active").exists()
        assert Team.objects.filter(pk=self.charlies_team.pk).exists()
        deletion_purge_due(now=timezone.now())
        assert not Team.objects.filter(pk=self.charlies_team.pk).exists()
        assert self.stripe.subscriptions[sub.stripe_subscription_id]["status"] == "canceled"

    def test_a_subscription_stripe_no_longer_has_counts_as_cancelled(self):
        sub = on_stripe(self.charlies_team, self.stripe)
        del self.stripe.subscriptions[sub.stripe_subscription_id]
        self.delete(self.charlie)
        sub.refresh_from_db()
        assert sub.status == Subscription.Status.CANCELED

    # Re-authentication ---------------------------------------------------------------

    def test_a_wrong_password_is_refused_and_audited(self):
        with pytest.raises(ReauthenticationFailed) as failed:
            account_reauthenticate(user=self.charlie, password="nope")
        assert failed.value.field == "password"
        assert AuditEntry.objects.filter(action=A.LOGIN_FAILED, actor=self.charlie).exists()
        account_reauthenticate(user=self.charlie, password=PASSWORD)

    # The purge -----------------------------------------------------------------------

    def test_the_purge_waits_for_the_grace_period_day_29_nothing_day_31_everything(self):
        with time_machine.travel(NOW, tick=False):
            self.delete(self.charlie)
        with time_machine.travel(NOW + timedelta(days=29), tick=False):
            assert deletion_purge_due(now=timezone.now()) == 0
        assert User.objects.filter(pk=self.charlie.pk).exists()
        assert Team.objects.filter(pk=self.charlies_team.pk).exists()
        with time_machine.travel(NOW + timedelta(days=31), tick=False):
            assert deletion_purge_due(now=timezone.now()) > 0
        assert not User.objects.filter(pk=self.charlie.pk).exists()
        assert not Team.objects.filter(pk=self.charlies_team.pk).exists()
        # Alice's team was not touched.
        assert Team.objects.filter(pk=self.team.pk).exists()
        assert User.objects.filter(pk__in=[self.alice.pk, self.bob.pk]).count() == 2

    @override_settings(ACCOUNT_DELETION_GRACE_DAYS=7)
    def test_the_grace_period_is_the_setting(self):
        with time_machine.travel(NOW, tick=False):
            self.delete(self.charlie)
        with time_machine.travel(NOW + timedelta(days=6, hours=23), tick=False):
            deletion_purge_due(now=timezone.now())
        assert User.objects.filter(pk=self.charlie.pk).exists()
        with time_machine.travel(NOW + timedelta(days=7), tick=False):
            deletion_purge_due(now=timezone.now())
        assert not User.objects.filter(pk=self.charlie.pk).exists()

    @override_settings(ACCOUNT_DELETION_GRACE_DAYS=0)
    def test_the_purge_is_a_retention_rule_and_counts_anonymously(self):
        assert "cvrtracker.privacy.deletion:deletion_purge_due" in {r.function for r in RULES}
        self.delete(self.charlie)
        self.delete(self.bob)
        rule = next(r for r in RULES if r.function.endswith(":deletion_purge_due"))
        assert rule.load()(now=timezone.now()) > 0
        counts = dict(AnonymousCounter.objects.values_list("key", "value"))
        assert counts["accounts_deleted"] == 2 and counts["teams_deleted"] == 1
        # Running it again finds nothing and counts nothing more.
        assert rule.load()(now=timezone.now()) == 0
        assert AnonymousCounter.objects.get(key="accounts_deleted").value == 2

    @override_settings(ACCOUNT_DELETION_GRACE_DAYS=0)
    def test_billing_records_stay_for_accounting_without_the_team(self):
        record = BillingRecord.objects.create(
            team=self.charlies_team,
            team_code=self.charlies_team.code,
            stripe_invoice_id="in_kept",
            number="CVR-0001",
            amount=1900,
            currency="usd",
            issued_at=timezone.now(),
            status="paid",
        )
        self.delete(self.charlie)
        deletion_purge_due(now=timezone.now())
        record.refresh_from_db()
        assert record.team is None and record.team_code == self.charlies_team.code
        # What accounting needs, and nothing that names the person.
        fields = {f.name for f in BillingRecord._meta.concrete_fields}
        assert fields == {
            "id",
            "code",
            "team",
            "team_code",
            "stripe_invoice_id",
            "number",
            "amount",
            "currency",
            "issued_at",
            "status",
        }


class AuditTrailTestCase(BaseTestCase):
    """The append-only trail and deletion: the deleted team's chain goes with it; what
    a deleted user left in another team's chain stays, naming nobody."""

    @override_settings(ACCOUNT_DELETION_GRACE_DAYS=0)
    def test_a_former_members_entries_stay_verifiable_and_name_nobody(self):
        # Bob was on alice's team, did things there, was removed, then deleted his account.
        client = Client()
        client.force_login(self.bob)
        key = api_key_create(team=self.team, name="Bob's sheet", actor=self.bob)
        member_remove(membership=self.bob.membership, actor=self.alice)
        bobs_team = Membership.objects.get(user=self.bob).team
        with self.captureOnCommitCallbacks(execute=True):
            account_delete(user=self.bob, context=AuditContext(actor=self.bob))
        assert deletion_purge_due(now=timezone.now()) > 0
        assert not User.objects.filter(pk=self.bob.pk).exists()
        assert not Team.objects.filter(pk=bobs_team.pk).exists()
        # His own team's chain is gone, head and entries.
        assert not AuditEntry.objects.filter(chain=chain_key(bobs_team.code)).exists()
        assert not AuditChain.objects.filter(key=chain_key(bobs_team.code)).exists()
        # Alice's chain keeps his entries, with an id that names no row now.
        kept = AuditEntry.objects.filter(team=self.team, actor_id=self.bob.pk)
        assert kept.filter(action=A.API_KEY_CREATED, target_code=str(key.key.code)).exists()
        assert audit_chain_verify(key=chain_key(self.team.code)).ok
        # The access log still shows them, as a former member's.
        owner = Client()
        owner.force_login(self.alice)
        page = owner.get(reverse("accounts:access_log"))
        assert page.status_code == 200
        html = page.content.decode()
        assert "a former member" in html and "bob@example.org" not in html

    @override_settings(ACCOUNT_DELETION_GRACE_DAYS=0)
    def test_audit_verify_passes_for_every_remaining_chain(self):
        from io import StringIO

        from django.core.management import call_command

        with self.captureOnCommitCallbacks(execute=True):
            account_delete(user=self.charlie, context=AuditContext(actor=self.charlie))
        deletion_purge_due(now=timezone.now())
        out = StringIO()
        call_command("audit_verify", stdout=out)
        assert "charlie" not in out.getvalue().lower()

    def test_the_database_still_refuses_to_rewrite_an_entry(self):
        # The trigger that makes deleting with SET_NULL fail is still there: deletion
        # works because it never updates an entry, not because the guard is gone.
        entry = audit_record(action=A.LOGIN, actor=self.alice)
        with pytest.raises(DatabaseError), transaction.atomic(), db.cursor() as cursor:
            cursor.execute("UPDATE audit_auditentry SET actor_id = NULL WHERE id = %s", [entry.pk])

    @override_settings(ACCOUNT_DELETION_GRACE_DAYS=0)
    def test_signed_up_users_are_deleted_with_their_trail_on_this_database(self):
        user = user_signup(name="Erin", email="erin@example.org", password=PASSWORD)
        team = user.membership.team
        assert AuditEntry.objects.filter(chain=chain_key(team.code)).exists()
        with self.captureOnCommitCallbacks(execute=True):
            account_delete(user=user, context=AuditContext(actor=user))
        deletion_purge_due(now=timezone.now())
        assert not User.objects.filter(email="erin@example.org").exists()
        assert not AuditEntry.objects.filter(chain=chain_key(team.code)).exists()
        assert not AuditEntry.objects.filter(actor_id=user.pk).exists()
        assert db.vendor in {"sqlite", "postgresql"}


@pytest.mark.django_db
def test_metric_blocks_are_deleted_in_batches(settings, monkeypatch):
    from cvrtracker.privacy import purge
    from cvrtracker.test import make_user

    settings.ACCOUNT_DELETION_GRACE_DAYS = 0
    monkeypatch.setattr(purge, "BATCH", 2)
    user = make_user("frank@example.org")
    team = user.membership.team
    seller_with_listings(team, user, seller_id="A1FRANK", store_name="Frank")
    assert MetricBlock.objects.count() > 2
    account_delete(user=user, context=AuditContext(actor=user))
    deletion_purge_due(now=timezone.now())
    assert MetricBlock.objects.count() == 0 and Listing.objects.count() == 0
