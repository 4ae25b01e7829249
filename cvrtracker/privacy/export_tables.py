"""What a data export holds: one table per kind of data, each written as JSON and CSV.

Every table reads rows of the requester's team (or of the requester alone) one at a
time, decrypting what is encrypted under its seller connection's key. Credentials
never leave: no password hash, refresh or access token, data key, API key digest,
two-factor secret, recovery code digest, webhook signing secret, or session key.

Every model of the project is either named by a table here (`models`) or listed in
EXCLUDED with the reason; tests/test_export_tables.py fails on a model in neither,
so a new model cannot be left out of the export by accident.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.db.models import Q

from cvrtracker.accounts.models import (
    AuthenticatorDevice,
    Invitation,
    Membership,
    RecoveryCode,
    Team,
    User,
    UserSession,
)
from cvrtracker.alerts.channels import alert_channel_target
from cvrtracker.alerts.models import (
    Alert,
    AlertChannel,
    AlertCondition,
    AlertRule,
    Delivery,
    RuleChannel,
)
from cvrtracker.alerts.selectors import condition_state
from cvrtracker.amazon.models import DataKioskQuery, SalesTrafficDay, SellerConnection, SyncJob
from cvrtracker.api.models import ApiKey
from cvrtracker.audit.models import AuditEntry
from cvrtracker.billing.models import BillingRecord, Notice, Subscription
from cvrtracker.impact.models import ChangeImpact
from cvrtracker.lib.crypto import DecryptionError
from cvrtracker.listings.models import InventoryLevel, Listing, ListingChange, ListingSnapshot
from cvrtracker.metrics.blocks import (
    BUY_BOX,
    ORDER_ITEMS,
    PAGE_VIEWS,
    PENDING,
    PERCENT_SCALE,
    PRESENT,
    SESSIONS,
    UNIT_SESSION,
    UNITS,
    BlockData,
)
from cvrtracker.metrics.keys import ConnectionKeys
from cvrtracker.metrics.models import MetricBlock, MetricRangeTotals, Order, OrderItem
from cvrtracker.metrics.report import ZERO_DECIMAL_CURRENCIES
from cvrtracker.metrics.services import block_data, blocks_one_at_a_time
from cvrtracker.privacy.models import (
    ConnectionDeletion,
    DataExport,
    RightsRequest,
    SupportRequest,
    UsageEvent,
)

CHUNK = 2000

# Models deliberately left out of every export, and why.
EXCLUDED: dict[str, str] = {
    "auth.Permission": "Django's list of permissions: part of the schema, about no one",
    "auth.Group": "not used by the site: no user belongs to a group",
    "contenttypes.ContentType": "Django's list of tables: part of the schema, about no one",
    "sessions.Session": (
        "the signed-in state itself (a random key and an expiry); the sessions a user "
        "can see (browser, IP address, times) are exported from their session records"
    ),
    "axes.AccessAttempt": (
        "log-in throttling (django-axes), keyed by a keyed hash of the address typed at "
        "log-in and of the IP address (privacy/login_records.py), not by an account: "
        "anyone can type someone's address, so these rows would tell a user about "
        "other people's attempts. The user's own log-ins and failed log-ins are in the "
        "exported audit entries; these rows go after USAGE_RETENTION_DAYS"
    ),
    "otp_totp.TOTPDevice": (
        "django-otp's authenticator table, empty: the devices moved to "
        "accounts.AuthenticatorDevice, which encrypts their seeds (exported)"
    ),
    "axes.AccessAttemptExpiration": "when a log-in throttling row expires: see axes.AccessAttempt",
    "axes.AccessFailureLog": "log-in throttling (django-axes): see axes.AccessAttempt",
    "axes.AccessLog": "django-axes' log of successful log-ins: switched off, always empty",
    "django_tasks_database.DBTaskResult": (
        "the worker's queue: which row id a job works on and its result, no content"
    ),
    "audit.AuditChain": "the audit hash chains' heads (numbers, hashes); the entries are exported",
    "amazon.RateLimitState": "rate-limit buckets of calls to Amazon (timestamps), no content",
    "amazon.OperatorAlarm": "site-wide alarms for the operator, about no team",
    "billing.ProcessedEvent": "ids of Stripe events already applied (replay protection), no team",
    "alerts.EvaluationCursor": "where the alert evaluation stopped (a row id): bookkeeping",
    "privacy.AnonymousCounter": "anonymous site-wide totals: no team, seller id, ASIN or SKU",
}


@dataclass
class Scope:
    """Whose data: the requester and their team, and each connection's key (None when
    the key is destroyed, after a disconnect: that data is unreadable and being purged)."""

    user: User
    team: Team
    is_owner: bool
    connections: list[SellerConnection] = field(default_factory=list)
    keys: dict[int, ConnectionKeys | None] = field(default_factory=dict)
    emails: dict[int, str] = field(default_factory=dict)

    @classmethod
    def of(cls, *, user: User, team: Team) -> Scope:
        membership = Membership.objects.filter(user=user, team=team).first()
        scope = cls(user=user, team=team, is_owner=bool(membership and membership.is_owner))
        scope.connections = list(SellerConnection.objects.filter(team=team).order_by("created_at"))
        for connection in scope.connections:
            try:
                scope.keys[connection.pk] = ConnectionKeys(connection)
            except DecryptionError:
                scope.keys[connection.pk] = None
        # Instances, not values_list(): the addresses are encrypted (code is the
        # associated data that opens them).
        members = User.objects.filter(membership__team=team).only("pk", "code", "email")
        scope.emails = {member.pk: member.email for member in members}
        scope.emails[user.pk] = user.email
        return scope

    def readable(self) -> list[tuple[SellerConnection, ConnectionKeys]]:
        return [(c, k) for c in self.connections if (k := self.keys.get(c.pk)) is not None]

    def email(self, user_id: int | None) -> str:
        """A team member's address; others (a former member) stay unnamed."""
        if user_id is None:
            return ""
        return self.emails.get(user_id, "(not a member of the team)")


Rows = Iterator[Sequence[Any]]


@dataclass(frozen=True)
class Table:
    path: str  # in the ZIP, without extension
    about: str  # one line of the README
    models: tuple[str, ...]
    columns: tuple[str, ...]
    rows: Callable[[Scope], Rows]


def _money(amount_minor: int, currency: str) -> str:
    places = 0 if currency in ZERO_DECIMAL_CURRENCIES else 2
    return str(Decimal(int(amount_minor)).scaleb(-places))


def _percent(hundredths: int) -> float:
    return round(int(hundredths) / PERCENT_SCALE, 2)


# Account and team --------------------------------------------------------------------


def _profile(scope: Scope) -> Rows:
    u = User.objects.get(pk=scope.user.pk)
    yield (
        u.code, u.email, u.name, u.pending_email, u.date_joined, u.last_login,
        u.email_verified_at, u.age_confirmed_at, u.privacy_policy_version,
        u.privacy_policy_accepted_at, u.is_active, u.deletion_requested_at,
    )  # fmt: skip


def _two_factor(scope: Scope) -> Rows:
    for d in AuthenticatorDevice.objects.filter(user=scope.user).order_by("pk"):
        yield ("authenticator app", d.name, d.confirmed, d.created_at, d.last_used_at)
    for code in RecoveryCode.objects.filter(user=scope.user).order_by("pk"):
        yield ("recovery code", "", True, code.created_at, code.used_at)


def _team(scope: Scope) -> Rows:
    t = Team.objects.get(pk=scope.team.pk)
    yield (t.code, t.name, t.created_at, t.mfa_required, t.deletion_requested_at)


def _members(scope: Scope) -> Rows:
    for m in Membership.objects.filter(team=scope.team).select_related("user").order_by("pk"):
        yield (m.code, m.user.name, m.user.email, m.role, m.created_at)


def _invitations(scope: Scope) -> Rows:
    for i in Invitation.objects.filter(team=scope.team).order_by("pk"):
        yield (i.code, i.email, i.role, scope.email(i.invited_by_id), i.created_at, i.accepted_at)


def _sessions(scope: Scope) -> Rows:
    for s in UserSession.objects.filter(user=scope.user).order_by("created_at"):
        yield (s.code, s.created_at, s.last_seen_at, s.ip, s.user_agent)


def _usage(scope: Scope) -> Rows:
    events = UsageEvent.objects.filter(user=scope.user).order_by("at", "pk")
    for e in events.iterator(chunk_size=CHUNK):
        yield (e.at, e.method, e.path, e.ip, e.user_agent)


def _api_keys(scope: Scope) -> Rows:
    for k in ApiKey.objects.filter(team=scope.team).order_by("pk"):
        yield (
            k.code, k.name, k.prefix, scope.email(k.created_by_id), k.created_at,
            k.last_used_at, k.revoked_at,
        )  # fmt: skip


# Amazon data -------------------------------------------------------------------------


def _connections(scope: Scope) -> Rows:
    for c in scope.connections:
        keys = scope.keys.get(c.pk)
        store = ""
        if keys is not None and c.store_name_enc:
            store = keys.data.decrypt_str(bytes(c.store_name_enc), aad=c.aad("store_name"))
        yield (
            c.code, c.region, c.selling_partner_id, store, c.status,
            [m.get("id") for m in c.marketplaces or []], scope.email(c.created_by_id),
            c.authorized_at, c.created_at, c.listings_synced_at, c.sales_traffic_synced_at,
            c.inventory_synced_at, c.orders_synced_at, c.last_error, c.stopped_at,
            "" if keys is not None else "key destroyed: this account's data is unreadable",
        )  # fmt: skip


def _report_days(scope: Scope) -> Rows:
    for connection, _ in scope.readable():
        days = SalesTrafficDay.objects.filter(connection=connection).order_by("day", "pk")
        for d in days.iterator(chunk_size=CHUNK):
            yield (
                connection.code, d.marketplace_id, d.kind, d.day, d.end_day, d.status,
                d.requested_at, d.fetched_at, d.is_pending, d.attempts, d.last_error,
            )  # fmt: skip


def _data_kiosk(scope: Scope) -> Rows:
    for connection, _ in scope.readable():
        queries = DataKioskQuery.objects.filter(connection=connection).order_by("pk")
        for q in queries.iterator(chunk_size=CHUNK):
            yield (
                connection.code, q.marketplace_id, q.kind, q.asins, q.start_day, q.end_day,
                q.status, q.requested_at, q.fetched_at, q.last_error,
            )  # fmt: skip


def _sync_jobs(scope: Scope) -> Rows:
    for connection, _ in scope.readable():
        for j in SyncJob.objects.filter(connection=connection).order_by("pk"):
            yield (connection.code, j.kind, j.next_run_at, j.last_success_at, j.last_error)


def _listings(scope: Scope) -> Rows:
    for connection, keys in scope.readable():
        listings = Listing.objects.filter(connection=connection).order_by("marketplace_id", "sku")
        for li in listings.iterator(chunk_size=CHUNK):
            title = (
                keys.data.decrypt_str(bytes(li.title_enc), aad=li.aad("title"))
                if li.title_enc
                else ""
            )
            content = (
                keys.data.decrypt_json(bytes(li.content_enc), aad=li.aad("content"))
                if li.content_enc
                else None
            )
            yield (
                li.code, connection.code, li.marketplace_id, li.sku, li.asin, li.status,
                li.tracking, title, content, li.catalog_changed_at, li.catalog_changed_by,
                li.pending_fields, li.created_at, li.updated_at,
            )  # fmt: skip


def _snapshots(scope: Scope) -> Rows:
    for connection, keys in scope.readable():
        snapshots = (
            ListingSnapshot.objects.filter(listing__connection=connection)
            .select_related("listing")
            .order_by("listing_id", "taken_at", "pk")
        )
        for s in snapshots.iterator(chunk_size=CHUNK):
            content = keys.data.decrypt_json(bytes(s.content_enc), aad=s.aad("content"))
            yield (
                s.code,
                s.listing.code,
                s.listing.sku,
                s.listing.marketplace_id,
                s.taken_at,
                content,
            )


def _changes(scope: Scope) -> Rows:
    for connection, keys in scope.readable():
        changes = (
            ListingChange.objects.filter(connection=connection)
            .select_related("listing")
            .order_by("day", "pk")
        )
        for c in changes.iterator(chunk_size=CHUNK):
            payload = keys.data.decrypt_json(bytes(c.payload_enc), aad=c.aad("payload"))
            yield (
                c.code, connection.code, c.listing.code if c.listing_id else "",
                c.marketplace_id, c.asin, c.sku, c.field, c.position, c.source, c.day,
                c.seen_after, c.seen_at, payload,
            )  # fmt: skip


def _impacts(scope: Scope) -> Rows:
    for connection, keys in scope.readable():
        rows = (
            ChangeImpact.objects.filter(change__connection=connection)
            .select_related("change")
            .order_by("change_id")
        )
        for row in rows.iterator(chunk_size=CHUNK):
            payload = keys.data.decrypt_json(bytes(row.payload_enc), aad=row.aad())
            yield (row.change.code, row.verdict, row.as_of, row.computed_at, payload)


def _inventory(scope: Scope) -> Rows:
    for connection, keys in scope.readable():
        code = keys.connection_code
        levels = InventoryLevel.objects.filter(connection=connection).order_by(
            "marketplace_id", "sku"
        )
        for lv in levels.iterator(chunk_size=CHUNK):
            fba = mfn = None
            if lv.fba_enc:
                aad = InventoryLevel.aad_for(code, lv.marketplace_id, lv.sku, "fba")
                fba = keys.data.decrypt_json(bytes(lv.fba_enc), aad=aad)
            if lv.mfn_quantity_enc:
                aad = InventoryLevel.aad_for(code, lv.marketplace_id, lv.sku, "mfn_quantity")
                mfn = keys.data.decrypt_json(bytes(lv.mfn_quantity_enc), aad=aad)
            yield (
                connection.code, lv.marketplace_id, lv.sku, lv.asin, fba, lv.fba_updated_at,
                mfn, lv.mfn_updated_at,
            )  # fmt: skip


METRIC_COLUMNS = (
    "sessions", "page_views", "units_ordered", "total_order_items", "buy_box_percentage",
    "unit_session_percentage", "ordered_product_sales", "currency", "pending",
)  # fmt: skip


def _metric_values(data: BlockData, row: int, day: int) -> tuple:
    ints = data.ints
    return (
        int(ints[SESSIONS, row, day]),
        int(ints[PAGE_VIEWS, row, day]),
        int(ints[UNITS, row, day]),
        int(ints[ORDER_ITEMS, row, day]),
        _percent(ints[BUY_BOX, row, day]),
        _percent(ints[UNIT_SESSION, row, day]),
        _money(data.sales[row, day], data.currency),
        data.currency,
        bool(data.flags[row, day] & PENDING),
    )


def _metrics(scope: Scope) -> Rows:
    # One decrypted month block in memory at a time (3 MB for a 50,000-ASIN seller);
    # no query runs inside the loop (blocks_one_at_a_time holds the connection).
    for connection, keys in scope.readable():
        blocks = MetricBlock.objects.filter(connection=connection).order_by(
            "marketplace_id", "granularity", "month", "shard"
        )
        for block in blocks_one_at_a_time(blocks, keys=keys, release=True):
            data = block_data(block, keys)
            account = block.granularity == MetricBlock.Granularity.ACCOUNT
            for row, asin in enumerate(data.keys):
                for day in range(data.n_days):
                    if not data.flags[row, day] & PRESENT:
                        continue
                    yield (
                        connection.code, block.marketplace_id, block.granularity,
                        block.day(day), "" if account else asin,
                        "" if account else data.parents[row], *_metric_values(data, row, day),
                    )  # fmt: skip
            del data, block


def _range_totals(scope: Scope) -> Rows:
    for connection, keys in scope.readable():
        for stored in MetricRangeTotals.objects.filter(connection=connection).order_by("pk"):
            raw = keys.data.decrypt(
                bytes(stored.values_enc), aad=stored.values_aad(keys.connection_code)
            )
            index = stored.rows or []
            data = BlockData.decode(raw, keys=[r[0] for r in index], parents=[r[1] for r in index])
            for row, asin in enumerate(data.keys):
                yield (
                    connection.code, stored.marketplace_id, stored.start, stored.end,
                    stored.fetched_at, asin, data.parents[row], *_metric_values(data, row, 0),
                )  # fmt: skip


def _orders(scope: Scope) -> Rows:
    for connection, keys in scope.readable():
        orders = Order.objects.filter(connection=connection).order_by("created_time", "pk")
        for o in orders.iterator(chunk_size=CHUNK):
            data = keys.data.decrypt_json(bytes(o.data_enc), aad=o.aad("data"))
            yield (
                o.code, connection.code, o.marketplace_id, o.status, o.created_time,
                o.purchase_day, o.last_updated_time, data,
            )  # fmt: skip


def _order_items(scope: Scope) -> Rows:
    for connection, keys in scope.readable():
        items = (
            OrderItem.objects.filter(order__connection=connection)
            .select_related("order")
            .order_by("order__created_time", "order_id", "pk")
        )
        for i in items.iterator(chunk_size=CHUNK):
            data = keys.data.decrypt_json(bytes(i.data_enc), aad=i.aad("data"))
            yield (i.code, i.order.code, i.asin, i.sku, data)


# Alerts ------------------------------------------------------------------------------


def _channels(scope: Scope) -> Rows:
    channels = AlertChannel.objects.filter(team=scope.team).select_related("member")
    for ch in channels.order_by("pk"):
        target = alert_channel_target(ch)
        if ch.kind != AlertChannel.Kind.EMAIL and target:
            # A webhook or Slack URL works as a password (whoever has it can post):
            # the export names its host only. The signing secret is never exported.
            target = f"{urlsplit(target).scheme}://{urlsplit(target).hostname}/…"
        yield (
            ch.code, ch.kind, ch.name, target, ch.status, ch.confirmed_at, ch.paused_at,
            ch.pause_reason, ch.consecutive_failures, scope.email(ch.created_by_id), ch.created_at,
        )  # fmt: skip


def _rules(scope: Scope) -> Rows:
    rules = AlertRule.objects.filter(team=scope.team).select_related("connection")
    for r in rules.order_by("pk"):
        yield (
            r.code, r.kind, r.params, r.scope, r.connection.code if r.connection_id else "",
            r.marketplace_id, r.asins, r.enabled, scope.email(r.opted_in_by_id), r.opted_in_at,
            scope.email(r.created_by_id), r.created_at, r.updated_at,
        )  # fmt: skip


def _rule_channels(scope: Scope) -> Rows:
    links = RuleChannel.objects.filter(rule__team=scope.team).select_related("rule", "channel")
    for link in links.order_by("pk"):
        yield (link.rule.code, link.channel.code, link.unsubscribed_at)


def _conditions(scope: Scope) -> Rows:
    for connection, keys in scope.readable():
        conditions = AlertCondition.objects.filter(
            rule__team=scope.team, connection=connection
        ).select_related("rule")
        for c in conditions.order_by("pk").iterator(chunk_size=CHUNK):
            yield (
                c.rule.code, connection.code, c.key, c.active, c.raised_at, c.cleared_at,
                condition_state(c, keys),
            )  # fmt: skip


def _alerts(scope: Scope) -> Rows:
    for connection, keys in scope.readable():
        alerts = Alert.objects.filter(team=scope.team, connection=connection).select_related("rule")
        for a in alerts.order_by("created_at", "pk").iterator(chunk_size=CHUNK):
            payload = keys.data.decrypt_json(bytes(a.payload_enc), aad=a.aad())
            yield (
                a.code, a.rule.code if a.rule_id else "", a.kind, connection.code,
                a.marketplace_id, a.asin, a.sku, a.day, a.created_at, payload,
            )  # fmt: skip


def _deliveries(scope: Scope) -> Rows:
    deliveries = Delivery.objects.filter(alert__team=scope.team).select_related("alert", "channel")
    for d in deliveries.order_by("created_at", "pk").iterator(chunk_size=CHUNK):
        yield (
            d.code, d.alert.code, d.channel.code, d.status, d.attempts, d.last_error,
            d.sent_at, d.created_at,
        )  # fmt: skip


# Billing and privacy -----------------------------------------------------------------


def _subscription(scope: Scope) -> Rows:
    for s in Subscription.objects.filter(team=scope.team):
        yield (
            s.code, s.plan, s.status, s.trial_ends_at, s.stripe_customer_id,
            s.stripe_subscription_id, s.current_period_end, s.cancel_at_period_end,
            s.cancel_at, s.past_due_since, s.created_at, s.updated_at,
        )  # fmt: skip


def _billing_records(scope: Scope) -> Rows:
    for b in BillingRecord.objects.filter(team=scope.team).order_by("issued_at", "pk"):
        yield (
            b.code, b.number, b.stripe_invoice_id, b.amount_display(),
            b.currency, b.issued_at, b.status,
        )  # fmt: skip


def _notices(scope: Scope) -> Rows:
    for n in Notice.objects.filter(team=scope.team).order_by("sent_at", "pk"):
        yield (n.kind, n.key, n.sent_at)


def _exports(scope: Scope) -> Rows:
    for e in DataExport.objects.filter(requested_by=scope.user).order_by("created_at"):
        yield (e.code, e.status, e.created_at, e.finished_at, e.expires_at, e.size_bytes, e.error)


def _deletions(scope: Scope) -> Rows:
    for d in ConnectionDeletion.objects.filter(team=scope.team).order_by("stopped_at"):
        yield (d.code, d.connection_code, d.region, d.reason, d.stopped_at, d.purged_at, d.counts)


def _rights_requests(scope: Scope) -> Rows:
    for r in RightsRequest.objects.filter(user=scope.user).order_by("created_at"):
        yield (
            r.code, r.kind, r.name, r.email, r.california_resident, r.details, r.status,
            r.created_at, r.due_at, r.answered_at, r.answer,
        )  # fmt: skip


def _support_requests(scope: Scope) -> Rows:
    for r in SupportRequest.objects.filter(user=scope.user).order_by("created_at"):
        yield (
            r.code, r.name, r.email, r.subject, r.message, r.status, r.created_at,
            r.answered_at, r.answer,
        )  # fmt: skip


def _audit(scope: Scope) -> Rows:
    # The team's trail and the user's own entries elsewhere (a failed log-in has no
    # team). Only the owner reads the team's trail on the site (the access log), so
    # for a member the IP address and browser of other people's entries stay out.
    entries = AuditEntry.objects.filter(Q(team=scope.team) | Q(actor=scope.user))
    labels = dict(AuditEntry.Action.choices)
    for e in entries.order_by("created_at", "pk").iterator(chunk_size=CHUNK):
        shown = scope.is_owner or e.actor_id == scope.user.pk
        yield (
            e.code, e.created_at, e.action, labels.get(e.action, e.action),
            scope.email(e.actor_id), e.target_type, e.target_code, e.detail,
            e.ip if shown else "", e.user_agent if shown else "",
        )  # fmt: skip


TABLES: tuple[Table, ...] = (
    Table(
        "account/profile",
        "your profile: name, email, when you signed up and accepted the privacy policy",
        ("accounts.User",),
        (
            "code",
            "email",
            "name",
            "pending_email",
            "signed_up_at",
            "last_login_at",
            "email_verified_at",
            "age_confirmed_at",
            "privacy_policy_version",
            "privacy_policy_accepted_at",
            "is_active",
            "deletion_requested_at",
        ),
        _profile,
    ),  # fmt: skip
    Table(
        "account/two_factor",
        "your two-factor devices and recovery codes: when made and used (never the secrets)",
        ("accounts.AuthenticatorDevice", "accounts.RecoveryCode"),
        ("kind", "name", "confirmed", "created_at", "last_used_at"),
        _two_factor,
    ),
    Table(
        "account/sessions",
        "your sign-in sessions: when, from which IP address and browser",
        ("accounts.UserSession",),
        ("code", "created_at", "last_seen_at", "ip", "user_agent"),
        _sessions,
    ),
    Table(
        "account/usage",
        "the pages you visited while signed in, with IP address and browser",
        ("privacy.UsageEvent",),
        ("at", "method", "path", "ip", "user_agent"),
        _usage,
    ),
    Table(
        "account/data_exports",
        "the data exports you asked for",
        ("privacy.DataExport",),
        ("code", "status", "created_at", "finished_at", "expires_at", "size_bytes", "error"),
        _exports,
    ),
    Table(
        "account/rights_requests",
        "your privacy rights requests and their answers",
        ("privacy.RightsRequest",),
        (
            "code",
            "kind",
            "name",
            "email",
            "california_resident",
            "details",
            "status",
            "created_at",
            "due_at",
            "answered_at",
            "answer",
        ),
        _rights_requests,
    ),  # fmt: skip
    Table(
        "account/support_requests",
        "your support requests and their answers",
        ("privacy.SupportRequest",),
        (
            "code",
            "name",
            "email",
            "subject",
            "message",
            "status",
            "created_at",
            "answered_at",
            "answer",
        ),
        _support_requests,
    ),  # fmt: skip
    Table(
        "team/team",
        "your team",
        ("accounts.Team",),
        ("code", "name", "created_at", "mfa_required", "deletion_requested_at"),
        _team,
    ),
    Table(
        "team/members",
        "the team's members and their roles",
        ("accounts.Membership",),
        ("code", "name", "email", "role", "joined_at"),
        _members,
    ),
    Table(
        "team/invitations",
        "invitations to the team",
        ("accounts.Invitation",),
        ("code", "email", "role", "invited_by", "created_at", "accepted_at"),
        _invitations,
    ),
    Table(
        "team/api_keys",
        "the team's API keys (name and prefix; never the key)",
        ("api.ApiKey",),
        ("code", "name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"),
        _api_keys,
    ),
    Table(
        "team/audit_entries",
        "the team's audit trail and your own entries (who did or read what, when, from where)",
        ("audit.AuditEntry",),
        (
            "code",
            "at",
            "action",
            "description",
            "actor",
            "target_type",
            "target_code",
            "detail",
            "ip",
            "user_agent",
        ),
        _audit,
    ),  # fmt: skip
    Table(
        "amazon/seller_accounts",
        "the team's Amazon seller accounts (never their tokens or keys)",
        ("amazon.SellerConnection",),
        (
            "code",
            "region",
            "selling_partner_id",
            "store_name",
            "status",
            "marketplaces",
            "connected_by",
            "authorized_at",
            "created_at",
            "listings_synced_at",
            "sales_traffic_synced_at",
            "inventory_synced_at",
            "orders_synced_at",
            "last_error",
            "stopped_at",
            "note",
        ),
        _connections,
    ),  # fmt: skip
    Table(
        "amazon/report_days",
        "which Sales & Traffic reports were fetched for which days",
        ("amazon.SalesTrafficDay",),
        (
            "seller_account",
            "marketplace_id",
            "kind",
            "day",
            "end_day",
            "status",
            "requested_at",
            "fetched_at",
            "pending",
            "attempts",
            "last_error",
        ),
        _report_days,
    ),  # fmt: skip
    Table(
        "amazon/data_kiosk_queries",
        "which Data Kiosk queries were made for which products and days",
        ("amazon.DataKioskQuery",),
        (
            "seller_account",
            "marketplace_id",
            "kind",
            "asins",
            "start_day",
            "end_day",
            "status",
            "requested_at",
            "fetched_at",
            "last_error",
        ),
        _data_kiosk,
    ),  # fmt: skip
    Table(
        "amazon/sync_jobs",
        "the sync jobs of each seller account: when they last succeeded and run next",
        ("amazon.SyncJob",),
        ("seller_account", "kind", "next_run_at", "last_success_at", "last_error"),
        _sync_jobs,
    ),
    Table(
        "listings/listings",
        "your listings, with their titles and content",
        ("listings.Listing",),
        (
            "code",
            "seller_account",
            "marketplace_id",
            "sku",
            "asin",
            "status",
            "tracking",
            "title",
            "content",
            "catalog_changed_at",
            "catalog_changed_by",
            "pending_fields",
            "created_at",
            "updated_at",
        ),
        _listings,
    ),  # fmt: skip
    Table(
        "listings/snapshots",
        "every stored version of a tracked listing's content",
        ("listings.ListingSnapshot",),
        ("code", "listing", "sku", "marketplace_id", "taken_at", "content"),
        _snapshots,
    ),
    Table(
        "listings/changes",
        "the changes seen in your listings",
        ("listings.ListingChange",),
        (
            "code",
            "seller_account",
            "listing",
            "marketplace_id",
            "asin",
            "sku",
            "field",
            "position",
            "source",
            "day",
            "seen_after",
            "seen_at",
            "change",
        ),
        _changes,
    ),  # fmt: skip
    Table(
        "listings/change_impacts",
        "the measured impact of each change on conversion",
        ("impact.ChangeImpact",),
        ("change", "verdict", "as_of", "computed_at", "impact"),
        _impacts,
    ),
    Table(
        "listings/inventory",
        "inventory levels (FBA and merchant-fulfilled)",
        ("listings.InventoryLevel",),
        (
            "seller_account",
            "marketplace_id",
            "sku",
            "asin",
            "fba",
            "fba_updated_at",
            "mfn_quantity",
            "mfn_updated_at",
        ),
        _inventory,
    ),  # fmt: skip
    Table(
        "metrics/daily",
        "Sales & Traffic per day: the whole account (granularity 'account') and each child ASIN",
        ("metrics.MetricBlock",),
        (
            "seller_account",
            "marketplace_id",
            "granularity",
            "day",
            "asin",
            "parent_asin",
            *METRIC_COLUMNS,
        ),
        _metrics,
    ),  # fmt: skip
    Table(
        "metrics/range_totals",
        "each product's totals over the first range fetched after connecting",
        ("metrics.MetricRangeTotals",),
        (
            "seller_account",
            "marketplace_id",
            "start",
            "end",
            "fetched_at",
            "asin",
            "parent_asin",
            *METRIC_COLUMNS,
        ),
        _range_totals,
    ),  # fmt: skip
    Table(
        "metrics/orders",
        "orders (no buyer or recipient data is ever stored)",
        ("metrics.Order",),
        (
            "code",
            "seller_account",
            "marketplace_id",
            "status",
            "created_time",
            "purchase_day",
            "last_updated_time",
            "order",
        ),
        _orders,
    ),  # fmt: skip
    Table(
        "metrics/order_items",
        "the items of each order",
        ("metrics.OrderItem",),
        ("code", "order", "asin", "sku", "item"),
        _order_items,
    ),
    Table(
        "alerts/channels",
        "where alerts are sent (webhook and Slack URLs by host only; never a signing secret)",
        ("alerts.AlertChannel",),
        (
            "code",
            "kind",
            "name",
            "target",
            "status",
            "confirmed_at",
            "paused_at",
            "pause_reason",
            "consecutive_failures",
            "created_by",
            "created_at",
        ),
        _channels,
    ),  # fmt: skip
    Table(
        "alerts/rules",
        "the team's alert rules",
        ("alerts.AlertRule",),
        (
            "code",
            "kind",
            "params",
            "scope",
            "seller_account",
            "marketplace_id",
            "asins",
            "enabled",
            "opted_in_by",
            "opted_in_at",
            "created_by",
            "created_at",
            "updated_at",
        ),
        _rules,
    ),  # fmt: skip
    Table(
        "alerts/rule_channels",
        "which rule sends to which channel, and unsubscriptions",
        ("alerts.RuleChannel",),
        ("rule", "channel", "unsubscribed_at"),
        _rule_channels,
    ),
    Table(
        "alerts/conditions",
        "what each rule watches and its state",
        ("alerts.AlertCondition",),
        ("rule", "seller_account", "key", "active", "raised_at", "cleared_at", "state"),
        _conditions,
    ),
    Table(
        "alerts/alerts",
        "the alerts raised",
        ("alerts.Alert",),
        (
            "code",
            "rule",
            "kind",
            "seller_account",
            "marketplace_id",
            "asin",
            "sku",
            "day",
            "created_at",
            "alert",
        ),
        _alerts,
    ),  # fmt: skip
    Table(
        "alerts/deliveries",
        "each alert's sending to each channel",
        ("alerts.Delivery",),
        ("code", "alert", "channel", "status", "attempts", "last_error", "sent_at", "created_at"),
        _deliveries,
    ),
    Table(
        "billing/subscription",
        "the team's subscription",
        ("billing.Subscription",),
        (
            "code",
            "plan",
            "status",
            "trial_ends_at",
            "stripe_customer_id",
            "stripe_subscription_id",
            "current_period_end",
            "cancel_at_period_end",
            "cancel_at",
            "past_due_since",
            "created_at",
            "updated_at",
        ),
        _subscription,
    ),  # fmt: skip
    Table(
        "billing/invoices",
        "the team's invoices (the records accounting keeps)",
        ("billing.BillingRecord",),
        ("code", "number", "stripe_invoice_id", "amount", "currency", "issued_at", "status"),
        _billing_records,
    ),
    Table(
        "billing/notices",
        "billing emails sent to the team (trial ending, payment failed)",
        ("billing.Notice",),
        ("kind", "about", "sent_at"),
        _notices,
    ),
    Table(
        "privacy/seller_account_deletions",
        "what was deleted after a seller account was disconnected or revoked, and when",
        ("privacy.ConnectionDeletion",),
        ("code", "seller_account", "region", "reason", "stopped_at", "purged_at", "counts"),
        _deletions,
    ),
)
