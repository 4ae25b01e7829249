"""Seller connection services: connect, tokens, marketplaces, errors, disconnect.

Every SP-API request checks first, in the database, that the connection is still
active (connection_ensure_active), so a disconnected or revoked connection makes no
call at all, even from a job that started before it stopped. Stopping a connection
destroys its data key in the same UPDATE and announces `connection_stopped` once
committed: the privacy app then deletes its data (privacy/purge.py).
"""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from cvrtracker.accounts.models import Team, User
from cvrtracker.amazon import client
from cvrtracker.amazon.authorization import lwa_credentials_accepted, lwa_credentials_refused
from cvrtracker.amazon.client import (
    AmazonError,
    ClientCredentialsRefused,
    ConnectionStopped,
    RevokedAuthorization,
    SpApiClient,
    TokenGrant,
)
from cvrtracker.amazon.models import LISTED, LISTED_AT, ST_REFUSED, SellerConnection
from cvrtracker.amazon.signals import connection_replaced, connection_stopped
from cvrtracker.audit.models import AuditEntry
from cvrtracker.audit.services import AuditContext, audit_record
from cvrtracker.lib import clock

logger = logging.getLogger(__name__)

Status = SellerConnection.Status
# Refresh this long before Amazon's expiry, so that a token never dies mid-call.
TOKEN_MARGIN = timedelta(seconds=60)
# When a sync failed for a reason that may pass, the scheduler tries again after this.
RETRY_LATER = timedelta(minutes=15)

REVOKED_WORDS = (
    "Amazon says CVR Tracker no longer has access to this seller account: the "
    "authorization was removed in Seller Central or has expired. We stopped syncing "
    "and are deleting the data we held for it; reconnect the account to start again."
)
TRANSIENT_WORDS = (
    "Amazon was busy or could not be reached at the last sync. We will try again "
    "automatically; there is nothing you need to do."
)
# LWA refused our app's own client secret: the operator fixes it (an OperatorAlarm
# is raised), and reconnecting would not help the seller at all.
CREDENTIALS_WORDS = (
    "Amazon sign-in for CVR Tracker is being renewed. Your data is safe, and syncing "
    "resumes automatically; there is nothing you need to do."
)
REFUSED_WORDS = (
    "Amazon refused a request for this account. If this message stays, reconnect the "
    "account; the app's permissions may have changed."
)


class SellerAlreadyConnected(Exception):
    """The seller account is connected to another team."""


class StoppedConnectionNotPurged(Exception):
    """A reconnect met the seller's stopped connection and nothing purged it (the
    privacy app's receiver of `connection_replaced` is missing)."""


def _replace_stopped(selling_partner_id: str) -> None:
    """Purge the seller's stopped connection, if one still waits for its purge, so that
    a reconnect starts from an empty history under a new key."""
    old = SellerConnection.objects.stopped().filter(selling_partner_id=selling_partner_id).first()
    if old is None:
        return
    connection_replaced.send(sender=SellerConnection, connection=old)
    if SellerConnection.objects.filter(pk=old.pk).exists():
        raise StoppedConnectionNotPurged(str(old.code))


def connection_connect(
    *,
    team: Team,
    user: User,
    region: str,
    selling_partner_id: str,
    grant: TokenGrant,
    context: AuditContext | None = None,
) -> SellerConnection:
    """Store a new authorization (or renew this team's existing one); returns the connection.

    SellerAlreadyConnected when another team holds this seller account: one
    seller's data belongs to one tenant.
    """
    if not grant.refresh_token:
        raise AmazonError("Amazon sent no refresh token", permanent=True)
    _replace_stopped(selling_partner_id)
    existing = SellerConnection.objects.filter(selling_partner_id=selling_partner_id).first()
    if existing and existing.team_id != team.id:
        raise SellerAlreadyConnected(selling_partner_id)
    connection = existing or SellerConnection(
        team=team, selling_partner_id=selling_partner_id, created_by=user
    )
    connection.region = region
    if not connection.wrapped_data_key:
        connection.create_data_key()
    connection.refresh_token_enc = connection.seal("refresh_token", grant.refresh_token)
    _store_access_token(connection, grant)
    connection.status = Status.ACTIVE
    connection.last_error, connection.last_error_at = "", None
    connection.next_sync_at = clock.now()
    # A connect or a renewal through the consent page: Amazon's 365 days start again.
    connection.authorized_at = connection.next_sync_at
    connection.reauthorize_warned_at = None
    try:
        with transaction.atomic():
            connection.save()
            audit_record(
                action=AuditEntry.Action.AMAZON_CONNECTED,
                context=context,
                actor=user,
                team=team,
                target=connection,
                detail=region,
            )
    except IntegrityError:
        # Another team connected the same seller between our check and our insert.
        raise SellerAlreadyConnected(selling_partner_id) from None
    logger.info("Seller connection %s connected (%s)", connection.code, region)
    return connection


def connection_authorize(
    *,
    team: Team,
    user: User,
    region: str,
    selling_partner_id: str,
    code: str,
    context: AuditContext | None = None,
) -> SellerConnection:
    """Finish the consent flow: exchange the code, store the grant, discover marketplaces.

    SellerAlreadyConnected before any token is requested when another team holds
    the seller; AmazonError when the code exchange fails. A failed marketplace
    discovery does not undo the connection: it is recorded and retried later.
    """
    # A stopped connection is only waiting for its purge: it holds the seller for nobody.
    taken = SellerConnection.objects.live().filter(selling_partner_id=selling_partner_id)
    if taken.exclude(team=team).exists():
        raise SellerAlreadyConnected(selling_partner_id)
    try:
        grant = client.lwa_exchange_code(code=code)
    except ClientCredentialsRefused:
        lwa_credentials_refused()
        raise
    connection = connection_connect(
        team=team,
        user=user,
        region=region,
        selling_partner_id=selling_partner_id,
        grant=grant,
        context=context,
    )
    try:
        connection_sync_marketplaces(connection=connection)
    except AmazonError as error:
        # Recorded on the connection already; a passing problem gets a second try soon.
        if not error.permanent:
            from cvrtracker.amazon.tasks import enqueue_sync_marketplaces

            enqueue_sync_marketplaces(connection)
    return connection


def _store_access_token(connection: SellerConnection, grant: TokenGrant) -> None:
    connection.access_token_enc = connection.seal("access_token", grant.access_token)
    connection.access_token_expires_at = clock.now() + timedelta(seconds=grant.expires_in)


def _usable(connection: SellerConnection) -> bool:
    expires = connection.access_token_expires_at
    return bool(connection.access_token_enc) and bool(
        expires and expires - TOKEN_MARGIN > clock.now()
    )


def connection_access_token(*, connection: SellerConnection, force: bool = False) -> str:
    """A valid LWA access token for the connection, refreshing it if needed.

    The refresh happens under a row lock, so concurrent workers make exactly one
    LWA call and the others reuse its token. `force` means Amazon refused the
    token this instance holds. RevokedAuthorization marks the connection revoked.
    """
    if not force and connection.is_active and _usable(connection):
        # The client asked connection_ensure_active just before (one indexed read per
        # request), so a disconnect or revocation seen by another process stops this
        # one before its next request, not in an hour.
        return connection.unseal("access_token", connection.access_token_enc) or ""
    held = bytes(connection.access_token_enc) if connection.access_token_enc else None
    try:
        with transaction.atomic():
            row = SellerConnection.objects.select_for_update().filter(pk=connection.pk).first()
            if row is None or not row.is_active or not row.refresh_token_enc:
                raise ConnectionStopped()
            current = bytes(row.access_token_enc) if row.access_token_enc else None
            # Reuse a token someone else refreshed while we waited for the lock.
            if _usable(row) and (not force or current != held):
                token = row.unseal("access_token", row.access_token_enc) or ""
            else:
                refresh_token = row.unseal("refresh_token", row.refresh_token_enc) or ""
                grant = client.lwa_refresh(refresh_token=refresh_token)
                lwa_credentials_accepted()
                _store_access_token(row, grant)
                row.save(update_fields=["access_token_enc", "access_token_expires_at"])
                token = grant.access_token
    except RevokedAuthorization as error:
        connection_record_error(connection=connection, error=error)
        raise
    except ClientCredentialsRefused as error:
        lwa_credentials_refused()
        connection_record_error(connection=connection, error=error)
        raise
    connection.access_token_enc = row.access_token_enc
    connection.access_token_expires_at = row.access_token_expires_at
    return token


def connection_ensure_active(*, connection: SellerConnection) -> None:
    """ConnectionStopped unless the connection may call Amazon now, read fresh from the
    database (one primary-key query): run before every SP-API request."""
    live = SellerConnection.objects.filter(pk=connection.pk, status=Status.ACTIVE, stopped_at=None)
    if not live.exists():
        raise ConnectionStopped()


def connection_client(*, connection: SellerConnection) -> SpApiClient:
    """An SP-API client for the connection that checks before every request that the
    connection is still active; ConnectionStopped unless it is now."""
    if not connection.is_active or not connection.refresh_token_enc:
        raise ConnectionStopped()
    return SpApiClient(
        region=connection.region,
        rate_key=str(connection.code),
        access_token=lambda force: connection_access_token(connection=connection, force=force),
        check=lambda: connection_ensure_active(connection=connection),
    )


def connection_sync_marketplaces(*, connection: SellerConnection) -> list[dict]:
    """Fetch the seller's marketplaces (getMarketplaceParticipations); returns them as stored."""
    try:
        participations = connection_client(connection=connection).get_marketplace_participations()
    except AmazonError as error:
        connection_record_error(connection=connection, error=error)
        raise
    marketplaces = []
    for item in participations:
        market, participation = item.get("marketplace") or {}, item.get("participation") or {}
        marketplaces.append(
            {
                "id": market.get("id", ""),
                "name": market.get("name", ""),
                "countryCode": market.get("countryCode", ""),
                "defaultCurrencyCode": market.get("defaultCurrencyCode", ""),
                "domainName": market.get("domainName", ""),
                "isParticipating": bool(participation.get("isParticipating")),
                "hasSuspendedListings": bool(participation.get("hasSuspendedListings")),
            }
        )
    store_name = next((p["storeName"] for p in participations if p.get("storeName")), "")
    with transaction.atomic():
        # What we learned about a marketplace (Amazon refuses Sales & Traffic there)
        # is not in Amazon's list: keep it across refreshes.
        row = SellerConnection.objects.select_for_update().get(pk=connection.pk)
        learned = {m.get("id"): m for m in row.marketplaces}
        for market in marketplaces:
            for key in (ST_REFUSED, LISTED, LISTED_AT):
                if key in learned.get(market["id"], {}):
                    market[key] = learned[market["id"]][key]
        connection.marketplaces = marketplaces
        connection.store_name_enc = connection.seal("store_name", store_name)
        connection.marketplaces_synced_at = clock.now()
        connection.last_error, connection.last_error_at = "", None
        connection.save(
            update_fields=[
                "marketplaces",
                "store_name_enc",
                "marketplaces_synced_at",
                "last_error",
                "last_error_at",
                "updated_at",
            ]
        )
    return marketplaces


def connection_record_listed(
    *, connection: SellerConnection, marketplace_id: str, count: int
) -> None:
    """Remember how many SKUs the seller lists in a marketplace (its merchant listings
    report): getMarketplaceParticipations also calls sites the seller never opened
    "participating" (docs#254, docs#1260), and Sales & Traffic is asked for only where
    something is listed."""
    with transaction.atomic():
        row = SellerConnection.objects.select_for_update().get(pk=connection.pk)
        for market in row.marketplaces:
            if market.get("id") == marketplace_id:
                market[LISTED] = count
                market[LISTED_AT] = clock.now().isoformat()
        row.save(update_fields=["marketplaces", "updated_at"])
    connection.marketplaces = row.marketplaces


def connection_refuse_sales_traffic(
    *, connection: SellerConnection, marketplace_id: str, reason: str
) -> None:
    """Remember that Amazon refuses Sales & Traffic reports in a marketplace (models#4718:
    Ireland answers 400 "Some of the marketplaces are not allowed for this Report"),
    so that no more are planned there. Settings → Amazon names it."""
    with transaction.atomic():
        row = SellerConnection.objects.select_for_update().get(pk=connection.pk)
        for market in row.marketplaces:
            if market.get("id") == marketplace_id:
                market[ST_REFUSED] = reason[:200] or "refused by Amazon"
        row.save(update_fields=["marketplaces", "updated_at"])
    connection.marketplaces = row.marketplaces
    logger.warning(
        "Seller connection %s: Sales & Traffic refused in %s", connection.code, marketplace_id
    )


def _stop(connection: SellerConnection, *, reason: str) -> None:
    """After the transaction that stopped the connection commits, tell the apps above
    (the privacy app purges its data)."""
    transaction.on_commit(
        lambda: connection_stopped.send(
            sender=SellerConnection, connection=connection, reason=reason
        ),
        robust=True,
    )


def connection_record_error(*, connection: SellerConnection, error: AmazonError) -> None:
    """Tell the seller what went wrong; a revoked grant stops the connection for good
    (as a disconnect does: tokens and data key destroyed, its data purged)."""
    if isinstance(error, ConnectionStopped):
        return  # stopped by someone else: nothing went wrong here
    now = clock.now()
    if isinstance(error, RevokedAuthorization):
        # The refresh token is worthless now: drop it with the access token and the
        # data key, so that nothing can call Amazon for this seller or read its data.
        # stopped_at is when the revocation was first seen, never moved later.
        with transaction.atomic():
            noticed = (
                SellerConnection.objects.filter(pk=connection.pk)
                .exclude(status__in=(Status.REVOKED, Status.DISCONNECTED))
                .update(
                    status=Status.REVOKED,
                    refresh_token_enc=None,
                    access_token_enc=None,
                    access_token_expires_at=None,
                    wrapped_data_key=None,
                    stopped_at=Coalesce(F("stopped_at"), now),
                    next_sync_at=None,
                    last_error=REVOKED_WORDS,
                    last_error_at=now,
                    updated_at=now,
                )
            )
            if noticed:
                # Nobody on the team acted: the sync noticed. Once per revocation.
                audit_record(
                    action=AuditEntry.Action.AMAZON_REVOKED,
                    team=connection.team,
                    target=connection,
                )
                _stop(connection, reason="revoked")
        _refresh_unless_purged(connection)
        logger.warning("Seller connection %s: authorization revoked", connection.code)
        return
    if isinstance(error, ClientCredentialsRefused):
        words = CREDENTIALS_WORDS
    else:
        words = REFUSED_WORDS if error.permanent else TRANSIENT_WORDS
    # Only on a connection still active: a disconnected one keeps its quiet state.
    active = SellerConnection.objects.filter(pk=connection.pk, status=Status.ACTIVE)
    if not active.update(last_error=words, last_error_at=now, next_sync_at=now + RETRY_LATER):
        return
    connection.last_error, connection.last_error_at = words, now
    logger.warning("Seller connection %s: %s", connection.code, error)


def connection_disconnect(
    *,
    connection: SellerConnection,
    actor: User | None = None,
    context: AuditContext | None = None,
    reason: str = "disconnected",
) -> None:
    """Stop every call at once: tokens and the data key destroyed in one UPDATE (its
    data is unreadable from this moment), nothing due; once committed,
    `connection_stopped` has its data purged. `actor` (or the context's) is who
    asked; None for the system; `reason` goes with the signal ("account_deleted" when
    the account goes). A connection stopped already keeps its stopped_at."""
    now = timezone.now()
    with transaction.atomic():
        SellerConnection.objects.filter(pk=connection.pk).update(
            status=Status.DISCONNECTED,
            refresh_token_enc=None,
            access_token_enc=None,
            access_token_expires_at=None,
            wrapped_data_key=None,
            stopped_at=Coalesce(F("stopped_at"), now),
            next_sync_at=None,
            last_error="",
            last_error_at=None,
            updated_at=now,
        )
        audit_record(
            action=AuditEntry.Action.AMAZON_DISCONNECTED,
            context=context,
            actor=actor,
            team=connection.team,
            target=connection,
        )
        _stop(connection, reason=reason)
    _refresh_unless_purged(connection)
    logger.info("Seller connection %s disconnected", connection.code)


def _refresh_unless_purged(connection: SellerConnection) -> None:
    """Read the stopped row back, unless its purge (queued when the stop committed,
    and run at once by an immediate task backend or a quick worker) deleted it first."""
    with contextlib.suppress(SellerConnection.DoesNotExist):
        connection.refresh_from_db()
