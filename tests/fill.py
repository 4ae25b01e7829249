"""A database with a row in every table, its text fields carrying a canary (issue 15).

`fill_every_model(canary, settings=settings)` syncs a seller from the simulator (its
store name and brands carry the canary, so Amazon's titles and bullets do too), then
makes, mostly through the product's own services, a row of every other model: users
and teams whose names and emails carry the canary, sessions and audit entries from a
browser whose user agent carries it and whose IP address is returned, support and
rights requests, alerts, exports, django-axes' log-in records, a TOTP device, a queued
task. It fails loudly when a model is left empty, so that a new model makes whoever
adds it say here how it is filled.

Used by the backup round trip (cvrtracker/front/tests/test_backup.py) and by the
canary dump test. Needs a test with `django_db(transaction=True)` (the sync commits)
and pytest-django's `settings` fixture (the simulator's URLs are set on it).
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from importlib import import_module

from django.apps import apps
from django.utils import timezone

# Left empty on purpose: filled by `migrate` or not used by the product.
NOT_FILLED = {
    "auth.Permission": "rows made by migrate, no user data",
    "auth.Group": "the product has no groups",
    "contenttypes.ContentType": "rows made by migrate, no user data",
    "auth.Group_permissions": "the product has no groups",
    "accounts.User_groups": "the product has no groups",
    "accounts.User_user_permissions": "the product grants no per-user permissions",
    "otp_totp.TOTPDevice": (
        "django-otp's plaintext-seed table, unused: devices are accounts.AuthenticatorDevice"
    ),
    "axes.AccessLog": "successful log-ins are not logged by axes (AXES_DISABLE_ACCESS_LOG)",
}


def _ip(kind: int) -> str:
    """A random documentation-range address, v4 or v6 (so that a dump search finds only ours)."""
    if kind == 4:
        return f"203.0.113.{secrets.randbelow(250) + 2}"
    return f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"


def fill_every_model(canary: str, *, settings) -> dict:
    """Fill every model; returns what was put in: {"canary", "emails", "ips", "user_agents",
    "connection", "users", ...}. Raises AssertionError naming every model left empty."""
    from cvrtracker.accounts.models import Membership
    from cvrtracker.accounts.services import team_invite, user_session_start
    from cvrtracker.alerts.channels import alert_channel_create
    from cvrtracker.alerts.models import (
        Alert,
        AlertChannel,
        AlertCondition,
        AlertRule,
        Delivery,
        EvaluationCursor,
    )
    from cvrtracker.alerts.services import alert_rule_create
    from cvrtracker.amazon.models import OperatorAlarm, RateLimitState, SyncJob
    from cvrtracker.amazon.sync.jobs import connection_sync
    from cvrtracker.amazon.tests.conftest import synced_simulator
    from cvrtracker.amazon.tests.helpers import connect_seller, run_until_done
    from cvrtracker.api.services import api_key_create
    from cvrtracker.audit.services import AuditContext, audit_record
    from cvrtracker.billing.models import BillingRecord, Notice, ProcessedEvent, Subscription
    from cvrtracker.impact.models import ChangeImpact
    from cvrtracker.listings.models import ListingChange
    from cvrtracker.privacy.models import AnonymousCounter, ConnectionDeletion, UsageEvent
    from cvrtracker.privacy.requests import rights_request_create, support_request_create
    from cvrtracker.test import make_user

    # Identifiers and keys the code builds (Stripe's ids, idempotency keys, SKUs) are
    # plaintext by design and never carry what a person typed: they get a plain tag.
    tag = "fill" + secrets.token_hex(4)
    ips = {"v4": _ip(4), "v6": _ip(6), "axes": _ip(4), "usage": _ip(6)}
    agent = f"Mozilla/5.0 ({canary}) Gecko/20100101 Firefox/140.0"
    emails = {
        "owner": f"owner.{canary.lower()}@example.org",
        "member": f"member.{canary.lower()}@example.org",
        "invited": f"invited.{canary.lower()}@example.org",
        "rights": f"rights.{canary.lower()}@example.org",
        "support": f"support.{canary.lower()}@example.org",
        "channel": f"alerts.{canary.lower()}@example.org",
    }
    # Amazon's data, through a real sync from the simulator.
    with synced_simulator(settings) as sim:
        settings.LISTINGS_DISCOVERY_MINUTES = 0
        settings.AMAZON_QUICK_TOTALS = True  # the range report (MetricRangeTotals)
        seller = sim.world.sellers[0]
        seller.store_name = f"{canary} Store"
        seller.brands = [f"{canary} {n}" for n in range(3)]
        owner = make_user(emails["owner"])
        connection = connect_seller(sim, team=owner.membership.team, user=owner)
        connection_sync(connection=connection)
        for job in SyncJob.objects.filter(connection=connection):
            run_until_done(job)
        _drain_reports()
    team = owner.membership.team
    owner.name = f"Owner {canary}"
    owner.pending_email = f"pending.{canary.lower()}@example.org"
    owner.save(update_fields=["name", "pending_email"])
    team.name = f"Team {canary}"
    team.save(update_fields=["name"])
    member = make_user(emails["member"], team=team, role=Membership.Role.MEMBER)
    context = AuditContext(actor=owner, team=team, ip=ips["v4"], user_agent=agent)

    # Accounts: an invitation, a session (Django's and ours), recovery codes, TOTP.
    team_invite(team=team, email=emails["invited"], actor=owner, context=context)
    session = import_module(settings.SESSION_ENGINE).SessionStore()  # the configured store
    session["canary"] = canary  # whatever a view keeps in a session
    session.create()
    user_session_start(user=owner, session_key=session.session_key, ip=ips["v6"], user_agent=agent)
    from cvrtracker.accounts.mfa import _recovery_codes_replace, mfa_enrolment_device

    device = mfa_enrolment_device(user=owner)
    device.name = f"Phone {canary}"
    device.save(update_fields=["name"])
    _recovery_codes_replace(user=owner)

    # django-axes: a failed log-in from a browser, recorded by axes itself (through the
    # project's handler, which keeps keyed hashes: privacy/login_records.py).
    from axes.models import AccessAttemptExpiration
    from django.test import Client

    Client(HTTP_USER_AGENT=agent, REMOTE_ADDR=ips["axes"], HTTP_ACCEPT=f"text/html;{canary}").post(
        f"/accounts/login/?{canary}",
        {"username": emails["owner"], "password": f"wrong {canary}"},
    )
    if not AccessAttemptExpiration.objects.exists():
        from axes.models import AccessAttempt

        AccessAttemptExpiration.objects.create(
            access_attempt=AccessAttempt.objects.get(),
            expires_at=timezone.now() + timedelta(minutes=30),
        )

    # Audit: an entry from a browser (the services above wrote more).
    audit_record(action="team.renamed", context=context, detail=f"renamed to {canary}")

    # Usage data: a signed-in page view.
    UsageEvent.objects.create(
        user=owner, ip=ips["usage"], user_agent=agent, method="GET", path=f"/products/{canary}/"
    )

    # Privacy: rights and support requests (answered), an export, a purge record, a counter.
    rights = rights_request_create(
        kind="access",
        name=f"Rights {canary}",
        email=emails["rights"],
        california_resident=True,
        details=f"Please send me my data {canary}",
        user=owner,
        context=context,
    )
    rights.answer, rights.answered_by = f"Answer {canary}", member
    rights.save(update_fields=["answer", "answered_by"])
    support = support_request_create(
        name=f"Support {canary}",
        email=emails["support"],
        subject=f"Help {canary}",
        message=f"My dashboard {canary} is empty",
        user=owner,
    )
    support.answer = f"Answer {canary}"
    support.save(update_fields=["answer"])
    from cvrtracker.privacy.export import data_export_build, data_export_request

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    export = data_export_request(user=owner, context=context)  # queues a task (a DBTaskResult)
    data_export_build(export=export)
    ConnectionDeletion.objects.create(
        team=team,
        connection_code=connection.code,
        region="NA",
        reason="disconnected",
        stopped_at=timezone.now(),
    )
    AnonymousCounter.objects.get_or_create(key="fill.canary", defaults={"value": 1})

    # Billing: a subscription, a processed webhook event, a notice, an invoice.
    Subscription.objects.update_or_create(
        team=team,
        defaults={
            "stripe_customer_id": f"cus_{tag}",
            "stripe_subscription_id": f"sub_{tag}",
        },
    )
    ProcessedEvent.objects.create(
        event_id=f"evt_{tag}", type="invoice.paid", created=timezone.now()
    )
    Notice.objects.create(team=team, kind="trial_ending", key=tag)
    BillingRecord.objects.create(
        team=team,
        team_code=team.code,
        stripe_invoice_id=f"in_{tag}",
        number=f"INV-{tag}",
        amount=4900,
        currency="usd",
        issued_at=timezone.now(),
        status="paid",
    )

    # API key.
    settings.BILLING_ENFORCED = False
    api_key_create(team=team, name=f"Key {canary}", actor=owner)

    # Alerts: a channel, a rule on it, a raised alert with its delivery and condition.
    channel = alert_channel_create(
        user=owner, kind="email", name=f"Channel {canary}", target=emails["channel"]
    )
    rule = alert_rule_create(
        user=owner,
        kind=AlertRule.Kind.LOW_STOCK,
        params={"days": 7},
        channels=[channel],
        enabled=True,
    )
    from cvrtracker.alerts.selectors import condition_state_aad
    from cvrtracker.metrics.keys import ConnectionKeys

    keys = ConnectionKeys(connection)
    alert = Alert(
        team=team,
        rule=rule,
        kind=rule.kind,
        connection=connection,
        marketplace_id="ATVPDKIKX0DER",
        asin="B000CANARY",
        sku=f"SKU-{tag}",
        day=timezone.now().date(),
        key=f"fill-{tag}",
    )
    alert.payload_enc = keys.data.encrypt_json({"title": f"Low stock {canary}"}, aad=alert.aad())
    alert.save()
    Delivery.objects.create(alert=alert, channel=channel, next_attempt_at=timezone.now())
    condition = AlertCondition(
        rule=rule,
        connection=connection,
        key=f"fill-{tag}",
        active=True,
        raised_at=timezone.now(),
    )
    condition.save()
    condition.state_enc = keys.data.encrypt_json(
        {"note": canary}, aad=condition_state_aad(condition)
    )
    condition.save(update_fields=["state_enc"])
    EvaluationCursor.objects.get_or_create(connection=connection, defaults={"last_change_id": 0})

    # Amazon's operator alarm and a rate-limit bucket (the sync ran with memory buckets).
    OperatorAlarm.objects.create(
        key=f"fill.{tag}", message=f"Alarm {tag}", raised_at=timezone.now()
    )
    RateLimitState.objects.get_or_create(key=f"fill:{tag}", defaults={"tat": 1})

    # An impact of a listing change (the sync's changes are measured only with history).
    change = ListingChange.objects.filter(connection=connection).first()
    if change is None:  # one sync sees no change: store one, as a second sweep would
        from cvrtracker.listings.changes import NewChange, listing_changes_store
        from cvrtracker.listings.models import Listing

        listing = Listing.objects.filter(connection=connection).first()
        now = timezone.now()
        listing_changes_store(
            connection=connection,
            changes=[
                NewChange(
                    key=f"fill:{tag}",
                    field=ListingChange.Field.TITLE,
                    source=ListingChange.Source.OBSERVED,
                    marketplace_id=listing.marketplace_id,
                    day=now.date(),
                    seen_at=now,
                    seen_after=now - timedelta(hours=1),
                    payload={"before": f"Old {canary}", "after": f"New {canary}"},
                    asin=listing.asin,
                    sku=listing.sku,
                    listing=listing,
                )
            ],
        )
        change = ListingChange.objects.get(connection=connection, key=f"fill:{tag}")
    if not ChangeImpact.objects.exists():
        impact = ChangeImpact(
            change=change,
            verdict=ChangeImpact.Verdict.NO_CLEAR_EFFECT,
            as_of=change.day,
            computed_at=timezone.now(),
        )
        impact.payload_enc = keys.data.encrypt_json({"note": canary}, aad=impact.aad())
        impact.save()

    counts = {model._meta.label: model._base_manager.count() for model in _models()}
    empty = sorted(label for label, count in counts.items() if not count)
    assert not empty, (
        f"fill_every_model left these models empty: {empty}. Fill them in tests/fill.py "
        "(with canary values in every text field a user, Amazon or a browser supplies), "
        "or list them in NOT_FILLED with the reason."
    )
    return {
        "canary": canary,
        "emails": emails,
        "ips": ips,
        "user_agents": [agent],
        "connection": connection,
        "users": [owner, member],
        "team": team,
        "counts": counts,
        "rows": {"alert_channel": AlertChannel.objects.get(pk=channel.pk)},
    }


def _drain_reports(timeout: float = 30.0) -> None:
    """Scheduler ticks (tasks run inline) until every Sales & Traffic report is stored."""
    import time

    from cvrtracker.amazon.models import SalesTrafficDay
    from cvrtracker.amazon.sync.scheduler import schedule_due

    deadline = time.monotonic() + timeout
    while True:
        rows = SalesTrafficDay.objects.all()
        if rows.exists() and not rows.exclude(status__in=["done", "cancelled", "given_up"]):
            return
        assert time.monotonic() < deadline, list(rows.values_list("kind", "status", "last_error"))
        schedule_due()
        time.sleep(0.05)


def _models():
    """Every concrete model, many-to-many tables included, except those NOT_FILLED."""
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.label not in NOT_FILLED and not model._meta.proxy
    ]
