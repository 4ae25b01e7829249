"""Record listings (and which are tracked), snapshots and inventory levels.

Everything a seller owns is encrypted under the connection's key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.http import HttpRequest
from django.utils import timezone

from cvrtracker.accounts.models import Team, User
from cvrtracker.amazon.marketplaces import marketplace_day
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.audit.models import AuditEntry
from cvrtracker.audit.services import audit_record
from cvrtracker.billing.limits import (
    TRACK_PRODUCT,
    team_require,
    team_require_writable,
    tracked_products_room,
)
from cvrtracker.lib import clock
from cvrtracker.metrics.keys import ConnectionKeys, canonical_json

from .changes import NewChange, listing_changes_store
from .diff import FieldChange, content_diff, content_digest_view
from .edits import edit_state_next
from .merchant_listings import MerchantListing
from .models import InventoryLevel, Listing, ListingChange, ListingSnapshot
from .normalize import (
    MFN_CHANNEL,
    SELLER_SIDE,
    content_sides,
    listing_content_from,
    seller_content_from,
)
from .selectors import listings_tracked_count
from .signals import inventory_stored

CONTENT_DIGEST = "listing-content"
SELLER_DIGEST = "listing-seller-content"


def listings_admit(
    *, connection: SellerConnection, marketplace_id: str, items: list[dict]
) -> dict[str, Listing]:
    """Record one page of searchListingsItems and decide which listings are tracked.

    Returns the page's listings by SKU. Every listing gets its row, ASIN, Amazon
    status and title, tracked or not, so the seller sees it. A listing not yet
    tracked because of the plan is tracked when its product already is, or when
    the plan has a free place; the page's products take free places in the order
    given (the sync asks Amazon for SKUs in ascending order). Tracked and stopped
    listings keep their state: a smaller plan never untracks anything.
    Calling it again with the same page changes no tracking state.
    """
    by_sku: dict[str, dict] = {}
    for item in items:
        sku = item.get("sku")
        if not isinstance(sku, str) or not sku:
            raise ValueError("a listings item without a sku")
        by_sku.setdefault(sku, item)
    if not by_sku:
        return {}
    where = {"connection": connection, "marketplace_id": marketplace_id}
    # Codes are drawn here; a row another worker created first keeps its own.
    Listing.objects.bulk_create(
        [Listing(**where, sku=sku, content_enc=b"") for sku in by_sku], ignore_conflicts=True
    )
    listings = {row.sku: row for row in Listing.objects.filter(**where, sku__in=list(by_sku))}
    keys = ConnectionKeys(connection)
    changed = []
    for sku, listing in listings.items():
        # The sync hands these rows on to listing_record_snapshot: with the
        # connection cached, that costs no query per listing to find its key.
        listing.connection = connection
        summary = _summary(by_sku[sku], marketplace_id)
        asin = str(summary.get("asin") or listing.asin)
        status = _status([str(s) for s in summary.get("status") or []])
        if _set_row(keys, listing, asin=asin, status=status, title=summary.get("itemName")):
            changed.append(listing)
    _save_rows(changed)
    _track_waiting(connection, [listings[sku] for sku in by_sku])
    return {sku: listings[sku] for sku in by_sku}


# Report rows are recorded this many at a time: a 50,000-SKU report never makes
# one huge statement, and each chunk takes its plan places in SKU order.
REPORT_CHUNK = 500


def listings_admit_report(
    *, connection: SellerConnection, marketplace_id: str, rows: list[MerchantListing]
) -> int:
    """Record every listing of a merchant listings report and decide which are tracked.

    Returns how many listings the report holds. Like listings_admit, every SKU
    gets its row (ASIN, a status from the report, the report's title), and
    waiting listings take the plan's free places in SKU order. The report's
    merchant-fulfilled quantities are stored for every SKU. Tracked listings
    are then read by identifier (searchListingsItems), which refines the status
    and title. Calling it again with the same report changes no tracking state.
    """
    keys = ConnectionKeys(connection)
    where = {"connection": connection, "marketplace_id": marketplace_id}
    ordered = sorted(rows, key=lambda row: row.sku)
    for start in range(0, len(ordered), REPORT_CHUNK):
        chunk = {row.sku: row for row in ordered[start : start + REPORT_CHUNK]}
        Listing.objects.bulk_create(
            [Listing(**where, sku=sku, content_enc=b"") for sku in chunk], ignore_conflicts=True
        )
        listings = list(Listing.objects.filter(**where, sku__in=list(chunk)).order_by("sku"))
        now = timezone.now()
        changed = []
        for listing in listings:
            row = chunk[listing.sku]
            listing.connection = connection
            if listing.is_tracked and listing.content_enc:
                # A tracked listing's status and title come from its own read.
                status, title = listing.status, None
            else:
                active = row.is_active
                status = Listing.Status.BUYABLE if active else Listing.Status.INACTIVE
                title = row.title
            if _set_row(keys, listing, asin=row.asin or listing.asin, status=status, title=title):
                changed.append(listing)
        _save_rows(changed)
        _track_waiting(connection, listings)
        _upsert_mfn_quantities(keys, connection, marketplace_id, list(chunk.values()), now)
    return len(ordered)


def listings_track_waiting(*, connection: SellerConnection, marketplace_id: str) -> None:
    """Give the marketplace's listings waiting for a place (over the plan's limit) the
    free places, in SKU order, as reading a merchant listings report would: a sweep
    that skips the report (amazon/sync/catalog.py) still tracks them after an upgrade."""
    after = ""
    while True:
        waiting = list(
            Listing.objects.filter(
                connection=connection,
                marketplace_id=marketplace_id,
                tracking=Listing.Tracking.OVER_LIMIT,
                sku__gt=after,
            ).order_by("sku")[:REPORT_CHUNK]
        )
        if not waiting:
            return
        for listing in waiting:
            listing.connection = connection
        _track_waiting(connection, waiting)
        after = waiting[-1].sku


def _upsert_mfn_quantities(
    keys: ConnectionKeys,
    connection: SellerConnection,
    marketplace_id: str,
    rows: list[MerchantListing],
    now: datetime,
) -> None:
    levels = []
    for row in rows:
        if row.fulfillment_channel != MFN_CHANNEL or row.quantity is None:
            continue
        aad = InventoryLevel.aad_for(keys.connection_code, marketplace_id, row.sku, "mfn_quantity")
        levels.append(
            InventoryLevel(
                connection=connection,
                marketplace_id=marketplace_id,
                sku=row.sku,
                asin=row.asin,
                mfn_quantity_enc=keys.data.encrypt_json(row.quantity, aad=aad),
                mfn_updated_at=now,
                updated_at=now,
            )
        )
    if levels:
        InventoryLevel.objects.bulk_create(
            levels,
            update_conflicts=True,
            unique_fields=["connection", "marketplace_id", "sku"],
            update_fields=["mfn_quantity_enc", "mfn_updated_at", "updated_at"],
        )


def _set_row(
    keys: ConnectionKeys, listing: Listing, *, asin: str, status: str, title: object
) -> bool:
    """Set the listing's ASIN, status and title (None: keep it); True when one changed.

    A sync reads every listing again and again, mostly unchanged: only changed rows
    are written (one bulk_update of 500 rows costs as much as the rest of a page).
    """
    new_title = None if title is None else str(title)
    old_title = (
        keys.data.decrypt_str(bytes(listing.title_enc), aad=listing.aad("title"))
        if listing.title_enc and new_title is not None
        else None
    )
    if (asin, status) == (listing.asin, listing.status) and (
        new_title is None or new_title == old_title
    ):
        return False
    listing.asin, listing.status = asin, status
    if new_title is not None and new_title != old_title:
        listing.title_enc = keys.data.encrypt_str(new_title, aad=listing.aad("title"))
    return True


def _save_rows(listings: list[Listing]) -> None:
    # Tracking is left out: a seller may stop a product while a page is stored.
    now = timezone.now()
    for listing in listings:
        listing.updated_at = now
    if listings:
        Listing.objects.bulk_update(listings, ["asin", "status", "title_enc", "updated_at"])


def _summary(item: dict, marketplace_id: str) -> dict:
    return next(
        (
            s
            for s in item.get("summaries") or []
            if isinstance(s, dict) and s.get("marketplaceId") == marketplace_id
        ),
        {},
    )


def _track_waiting(connection: SellerConnection, listings: list[Listing]) -> None:
    """Give the listings waiting for a place their product's state, or a free place."""
    waiting = [row for row in listings if row.tracking == Listing.Tracking.OVER_LIMIT]
    if not waiting:
        return
    team = connection.team
    with transaction.atomic():
        # One lock per team: its accounts' syncs and its sellers' clicks take
        # free places one at a time, so together they never pass the limit.
        Team.objects.select_for_update().get(pk=team.pk)
        states = dict(
            Listing.objects.filter(pk__in=[row.pk for row in waiting]).values_list("pk", "tracking")
        )
        for row in waiting:
            row.tracking = states[row.pk]
        waiting = [row for row in waiting if row.tracking == Listing.Tracking.OVER_LIMIT]
        products = _product_states(connection, waiting)
        room: int | None = None
        for row in waiting:
            state = products.get(row.product_key)
            if state is None:
                if room is None:
                    room = tracked_products_room(team, current=listings_tracked_count(team=team))
                if room > 0:
                    room -= 1
                    state = products[row.product_key] = Listing.Tracking.TRACKED
            if state is not None:
                row.tracking = state
        for state in (Listing.Tracking.TRACKED, Listing.Tracking.STOPPED):
            decided = [row.pk for row in waiting if row.tracking == state]
            if decided:
                Listing.objects.filter(pk__in=decided).update(tracking=state)


def _product_states(
    connection: SellerConnection, listings: list[Listing]
) -> dict[str, Listing.Tracking]:
    """The decided state (tracked wins over stopped) of the listings' products, by product key."""
    asins = {row.asin for row in listings if row.asin}
    skus = {row.sku for row in listings if not row.asin}
    siblings = (
        Listing.objects.filter(connection=connection)
        .filter(Q(asin__in=asins) | Q(asin="", sku__in=skus))
        .exclude(tracking=Listing.Tracking.OVER_LIMIT)
        .only("asin", "sku", "tracking")
    )
    states: dict[str, Listing.Tracking] = {}
    for sibling in siblings:
        if states.get(sibling.product_key) != Listing.Tracking.TRACKED:
            states[sibling.product_key] = Listing.Tracking(sibling.tracking)
    return states


def listing_record_snapshot(
    *, listing: Listing, item: dict, catalog_item: dict | None, sync_id: str
) -> ListingSnapshot | None:
    """Record one sync's read of the listing; returns its latest snapshot.

    A snapshot keeps both sides: what shoppers saw (the catalog first, its digest
    is the content digest) and what the seller submitted (the listing's
    attributes, under "seller"). A new one is stored only when either digest
    differs from the latest snapshot's; then the field-level changes of what
    shoppers saw (diff.py) are stored with it, in the same transaction, dated
    between the last read that saw the old content and this one. Every read sets
    the listing's content_sync_id and content_seen_at ("last seen unchanged").
    Against the previous content it also dates a change of the detail page, tells
    the seller's own edit from another contributor's, and keeps the seller's edits
    not live yet (listings/edits.py).

    Returns None, and stores nothing, for a listing that is not tracked (also one
    stopped since listings_admit). Calling it again for the same sync (a retried
    job) stores nothing and returns the latest snapshot.
    """
    keys = ConnectionKeys(listing.connection)
    shown, seller, digest, seller_digest = _read(keys, listing, item, catalog_item)
    with transaction.atomic():
        locked = Listing.objects.select_for_update().get(pk=listing.pk)
        if not locked.is_tracked:
            return None
        latest = locked.latest_snapshot()
        if latest is not None and sync_id in (locked.content_sync_id, latest.sync_id):
            return latest
        # A retry of a sync that a later sync's read already followed.
        earlier = locked.snapshots.filter(sync_id=sync_id).first()
        if earlier is not None:
            return earlier
        now = clock.now()
        seen_after = locked.content_seen_at or (latest.taken_at if latest else None)
        locked.content_sync_id, locked.content_seen_at = sync_id, now
        if latest is not None and (latest.digest, latest.seller_digest) == (digest, seller_digest):
            fields = ["content_sync_id", "content_seen_at", "updated_at"]
            if _stock_moved(keys, locked, shown):
                # Kept current on the listing, so a later stock-out says from how many.
                content = {**shown, SELLER_SIDE: seller}
                locked.content_enc = keys.data.encrypt_json(content, aad=locked.aad("content"))
                fields.append("content_enc")
            locked.save(update_fields=fields)
            snapshot = latest
        else:
            snapshot, previous = _store_snapshot(
                keys, locked, shown=shown, seller=seller, sync_id=sync_id, now=now
            )
            snapshot.digest, snapshot.seller_digest = digest, seller_digest
            snapshot.save()
            if latest is not None and latest.digest != digest:
                _store_changes(
                    keys,
                    listing.connection,
                    locked,
                    snapshot,
                    changes=content_diff(content_sides(previous)[0], shown),
                    seen_after=seen_after,
                )
    for name in ("catalog_changed_at", "catalog_changed_by", "pending_fields"):
        setattr(listing, name, getattr(locked, name))
    listing.edit_pending_since = locked.edit_pending_since
    listing.content_sync_id, listing.content_seen_at = sync_id, now
    return snapshot


def _read(
    keys: ConnectionKeys, listing: Listing, item: dict, catalog_item: dict | None
) -> tuple[dict, dict | None, str, str]:
    """What one read shows (canonical), the seller's side, and their digests."""
    if item.get("sku") != listing.sku:
        raise ValueError("the item is not this listing's")
    shown = listing_content_from(item, catalog_item, marketplace_id=listing.marketplace_id)
    seller = seller_content_from(item, marketplace_id=listing.marketplace_id)
    digest = keys.blind_index(CONTENT_DIGEST, canonical_json(content_digest_view(shown)))
    seller_digest = keys.blind_index(SELLER_DIGEST, canonical_json(seller)) if seller else ""
    return shown, seller, digest, seller_digest


def listings_record_snapshots(
    *, reads: list[tuple[Listing, dict, dict | None]], sync_id: str
) -> None:
    """listing_record_snapshot for a page of (listing, item, catalog item) reads of one
    connection, with the same result.

    Most reads find a listing as its latest snapshot left it: those are marked seen in
    one statement (three queries and a transaction per listing were most of a sync's
    time); the others, and retries of this sync, go through listing_record_snapshot.
    """
    if not reads:
        return
    keys = ConnectionKeys(reads[0][0].connection)
    latest = ListingSnapshot.objects.filter(listing=OuterRef("pk")).order_by("-taken_at", "-id")
    rows = {
        row[0]: row[1:]
        for row in Listing.objects.filter(
            pk__in=[listing.pk for listing, _, _ in reads], tracking=Listing.Tracking.TRACKED
        )
        .annotate(
            latest_digest=Subquery(latest.values("digest")[:1]),
            latest_seller_digest=Subquery(latest.values("seller_digest")[:1]),
            latest_sync_id=Subquery(latest.values("sync_id")[:1]),
        )
        .values_list(
            "pk",
            "content_sync_id",
            "content_enc",
            "latest_digest",
            "latest_seller_digest",
            "latest_sync_id",
        )
    }
    quiet, others = [], []
    for listing, item, catalog_item in reads:
        shown, _, digest, seller_digest = _read(keys, listing, item, catalog_item)
        row = rows.get(listing.pk)
        if (
            row is not None
            and row[2:4] == (digest, seller_digest)
            and sync_id not in (row[0], row[4])
            and not _stock_moved(keys, listing, shown, content_enc=row[1])
        ):
            quiet.append(listing)
        else:
            others.append((listing, item, catalog_item))
    if quiet:
        now = clock.now()
        Listing.objects.filter(
            pk__in=[listing.pk for listing in quiet], tracking=Listing.Tracking.TRACKED
        ).update(content_sync_id=sync_id, content_seen_at=now, updated_at=now)
        for listing in quiet:
            listing.content_sync_id, listing.content_seen_at = sync_id, now
    for listing, item, catalog_item in others:
        listing_record_snapshot(
            listing=listing, item=item, catalog_item=catalog_item, sync_id=sync_id
        )


def _stock_moved(
    keys: ConnectionKeys, locked: Listing, shown: dict, *, content_enc: bytes | None = None
) -> bool:
    """True when a quantity differs from the listing's content (the digest sees only in or
    out of stock); reads the content only when the read has a quantity."""
    if shown["fba_quantity"] is None and shown["mfn_quantity"] is None:
        return False
    content_enc = locked.content_enc if content_enc is None else content_enc
    if not content_enc:
        return True
    previous = keys.data.decrypt_json(bytes(content_enc), aad=locked.aad("content"))
    return any(previous.get(key) != shown[key] for key in ("fba_quantity", "mfn_quantity"))


def _store_snapshot(
    keys: ConnectionKeys,
    locked: Listing,
    *,
    shown: dict,
    seller: dict | None,
    sync_id: str,
    now: datetime,
) -> tuple[ListingSnapshot, dict | None]:
    """A new snapshot of the locked listing (digests not set, not saved) and the previous
    content; updates the listing's content and edit state (saved)."""
    content = {**shown, SELLER_SIDE: seller}
    previous = (
        keys.data.decrypt_json(bytes(locked.content_enc), aad=locked.aad("content"))
        if locked.content_enc
        else None
    )
    state = edit_state_next(
        previous=content_sides(previous),
        current=(shown, seller),
        pending_fields=locked.pending_fields or [],
        pending_since=locked.edit_pending_since,
        now=now,
    )
    if state.catalog_changed:
        locked.catalog_changed_at = now
        locked.catalog_changed_by = state.changed_by
    locked.pending_fields = list(state.pending_fields)
    locked.edit_pending_since = state.pending_since
    locked.content_enc = keys.data.encrypt_json(content, aad=locked.aad("content"))
    locked.save(
        update_fields=[
            "content_enc",
            "catalog_changed_at",
            "catalog_changed_by",
            "pending_fields",
            "edit_pending_since",
            "content_sync_id",
            "content_seen_at",
            "updated_at",
        ]
    )
    snapshot = ListingSnapshot(listing=locked, sync_id=sync_id, taken_at=now)
    snapshot.content_enc = keys.data.encrypt_json(content, aad=snapshot.aad("content"))
    return snapshot, previous


def _store_changes(
    keys: ConnectionKeys,
    connection: SellerConnection,
    listing: Listing,
    snapshot: ListingSnapshot,
    *,
    changes: list[FieldChange],
    seen_after: datetime | None,
) -> int:
    """Store the observed changes a new snapshot saw: dated on the marketplace's day of the
    read that saw them, between the last read that saw the old content and that read."""
    day = marketplace_day(listing.marketplace_id, snapshot.taken_at)
    return listing_changes_store(
        connection=connection,
        keys=keys,
        changes=[
            NewChange(
                key=f"obs:{snapshot.code}:{c.field}:{c.position or ''}:{c.discriminator}",
                field=c.field,
                source=ListingChange.Source.OBSERVED,
                marketplace_id=listing.marketplace_id,
                day=day,
                seen_after=seen_after,
                seen_at=snapshot.taken_at,
                position=c.position,
                payload=c.payload(),
                listing=listing,
                snapshot=snapshot,
            )
            for c in changes
            # FBA stock crossing zero is recorded from the inventory (inventory_upsert_fba),
            # which knows every FBA quantity; the listing's content rarely does.
            if c.field != ListingChange.Field.FBA_STOCK
        ],
    )


def listing_tracking_set(
    *, listing: Listing, tracked: bool, actor: User, request: HttpRequest | None = None
) -> int:
    """Start or stop tracking the listing's product: every SKU and marketplace of its
    ASIN on this seller account. Returns how many listings changed (0: it already was).

    Raises PlanLimitError when the team is read-only, or when starting would take
    the team past its plan's tracked products; stopping frees the product's place.
    Raises ValueError when starting on a disconnected seller account.
    """
    connection = listing.connection
    team = connection.team
    with transaction.atomic():
        Team.objects.select_for_update().get(pk=team.pk)
        team_require_writable(team)
        listing.refresh_from_db(fields=["asin", "sku", "tracking"])
        if listing.asin:
            product = Listing.objects.filter(connection=connection, asin=listing.asin)
        else:
            product = Listing.objects.filter(connection=connection, asin="", sku=listing.sku)
        if tracked:
            if connection.status == SellerConnection.Status.DISCONNECTED:
                raise ValueError("Reconnect this seller account to track its products.")
            if not product.filter(tracking=Listing.Tracking.TRACKED).exists():
                team_require(team, TRACK_PRODUCT, current=listings_tracked_count(team=team))
            state, action = Listing.Tracking.TRACKED, AuditEntry.Action.PRODUCT_TRACKED
        else:
            state, action = Listing.Tracking.STOPPED, AuditEntry.Action.PRODUCT_UNTRACKED
        changed = product.exclude(tracking=state).update(tracking=state, updated_at=timezone.now())
        if changed:
            audit_record(action=action, request=request, actor=actor, team=team, target=listing)
    listing.tracking = state
    return changed


def _status(amazon_status: list[str]) -> str:
    if "BUYABLE" in amazon_status:
        return Listing.Status.BUYABLE
    if "DISCOVERABLE" in amazon_status:
        return Listing.Status.DISCOVERABLE
    return Listing.Status.INACTIVE


def listing_content(*, connection: SellerConnection, listing: Listing) -> dict | None:
    """The listing's current canonical content, decrypted (None before the first sync)."""
    if not listing.content_enc:
        return None
    keys = ConnectionKeys(connection)
    return keys.data.decrypt_json(bytes(listing.content_enc), aad=listing.aad("content"))


def snapshot_content(*, connection: SellerConnection, snapshot: ListingSnapshot) -> dict:
    keys = ConnectionKeys(connection)
    return keys.data.decrypt_json(bytes(snapshot.content_enc), aad=snapshot.aad("content"))


# -- inventory ---------------------------------------------------------------------------


def inventory_upsert_fba(
    *, connection: SellerConnection, marketplace_id: str, summaries: list[dict]
) -> int:
    """Store getInventorySummaries(details=true) rows; returns how many SKUs were written.

    One bulk upsert per page: the ciphertexts are bound to the row's natural key,
    so they can be written before knowing whether the row exists. Before it, one
    read of the page's previous rows: a tracked listing whose fulfillable quantity
    crosses zero gets an observed fba_stock change (the only source of fba_stock:
    see _fba_stock_changes).
    """
    keys = ConnectionKeys(connection)
    now = clock.now()
    rows: dict[str, InventoryLevel] = {}
    quantities: dict[str, dict[str, int | None]] = {}
    for summary in summaries:
        sku = summary.get("sellerSku")
        if not isinstance(sku, str) or not sku:
            raise ValueError("an inventory summary without a sellerSku")
        quantities[sku] = _fba_quantities(summary)
        aad = InventoryLevel.aad_for(keys.connection_code, marketplace_id, sku, "fba")
        rows[sku] = InventoryLevel(
            connection=connection,
            marketplace_id=marketplace_id,
            sku=sku,
            asin=str(summary.get("asin") or ""),
            fba_enc=keys.data.encrypt_json(quantities[sku], aad=aad),
            fba_updated_at=now,
            updated_at=now,
        )
    with transaction.atomic():
        changes = _fba_stock_changes(keys, connection, marketplace_id, quantities, now)
        listing_changes_store(connection=connection, keys=keys, changes=changes)
        InventoryLevel.objects.bulk_create(
            list(rows.values()),
            update_conflicts=True,
            unique_fields=["connection", "marketplace_id", "sku"],
            update_fields=["asin", "fba_enc", "fba_updated_at", "updated_at"],
        )
        inventory_stored.send(
            sender=InventoryLevel, connection=connection, marketplace_id=marketplace_id
        )
    return len(rows)


def _fba_stock_changes(
    keys: ConnectionKeys,
    connection: SellerConnection,
    marketplace_id: str,
    quantities: dict[str, dict[str, int | None]],
    now: datetime,
) -> list[NewChange]:
    """The fba_stock changes of a page: fulfillable quantities crossing zero since the
    previous stored read, for tracked listings (one query; a second one, for the
    listings, only when something crossed).

    The inventory is the one source of fba_stock: the listing's fulfillmentAvailability
    rarely carries an FBA quantity, and a change recorded from both would be recorded
    twice (the snapshot diff leaves fba_stock out, see _store_changes). Dated between
    the previous read of the quantity and this one; the key is built on the previous
    read's time, so a retried page records the same transition once.
    """
    tracked = Listing.objects.filter(
        connection=connection,
        marketplace_id=marketplace_id,
        sku=OuterRef("sku"),
        tracking=Listing.Tracking.TRACKED,
    )
    previous = InventoryLevel.objects.filter(
        connection=connection,
        marketplace_id=marketplace_id,
        sku__in=list(quantities),
        fba_enc__isnull=False,
    ).annotate(listing_id=Subquery(tracked.values("pk")[:1]))
    crossed: list[tuple[int, str, str, int, int, datetime | None]] = []
    for sku, fba_enc, fba_updated_at, listing_id in previous.values_list(
        "sku", "fba_enc", "fba_updated_at", "listing_id"
    ):
        if listing_id is None:
            continue  # not tracked, or no listing known
        aad = InventoryLevel.aad_for(keys.connection_code, marketplace_id, sku, "fba")
        before = keys.data.decrypt_json(bytes(fba_enc), aad=aad).get("fulfillable")
        after = quantities[sku].get("fulfillable")
        if not isinstance(before, int) or not isinstance(after, int):
            continue  # an unknown quantity: nothing crossed zero that we saw
        if before > 0 and after <= 0:
            action = "out_of_stock"
        elif before <= 0 and after > 0:
            action = "back_in_stock"
        else:
            continue
        crossed.append((listing_id, sku, action, before, after, fba_updated_at))
    if not crossed:
        return []
    listings = Listing.objects.in_bulk([row[0] for row in crossed])
    day = marketplace_day(marketplace_id, now)
    return [
        NewChange(
            key=(
                f"obs:inv:fba_stock:{marketplace_id}:{sku}:"
                f"{seen_after.isoformat() if seen_after else ''}:{action}"
            ),
            field=ListingChange.Field.FBA_STOCK,
            source=ListingChange.Source.OBSERVED,
            marketplace_id=marketplace_id,
            day=day,
            seen_after=seen_after,
            seen_at=now,
            payload={"action": action, "before": before, "after": after},
            listing=listings[listing_id],
        )
        for listing_id, sku, action, before, after, seen_after in crossed
        if listing_id in listings
    ]


def inventory_upsert_mfn(
    *, connection: SellerConnection, marketplace_id: str, sku: str, quantity: int | None
) -> InventoryLevel:
    """Store the merchant-fulfilled quantity of one SKU (fulfillmentAvailability DEFAULT)."""
    inventory_upsert_mfn_page(
        connection=connection, marketplace_id=marketplace_id, quantities={sku: quantity}
    )
    return InventoryLevel.objects.get(connection=connection, marketplace_id=marketplace_id, sku=sku)


def inventory_upsert_mfn_page(
    *, connection: SellerConnection, marketplace_id: str, quantities: dict[str, int | None]
) -> int:
    """The merchant-fulfilled quantities of a page of SKUs (fulfillmentAvailability
    DEFAULT), in one statement; returns how many."""
    keys = ConnectionKeys(connection)
    now = clock.now()
    levels = [
        InventoryLevel(
            connection=connection,
            marketplace_id=marketplace_id,
            sku=sku,
            mfn_quantity_enc=keys.data.encrypt_json(
                quantity,
                aad=InventoryLevel.aad_for(
                    keys.connection_code, marketplace_id, sku, "mfn_quantity"
                ),
            ),
            mfn_updated_at=now,
            updated_at=now,
        )
        for sku, quantity in quantities.items()
    ]
    InventoryLevel.objects.bulk_create(
        levels,
        update_conflicts=True,
        unique_fields=["connection", "marketplace_id", "sku"],
        update_fields=["mfn_quantity_enc", "mfn_updated_at", "updated_at"],
    )
    if levels:
        inventory_stored.send(
            sender=InventoryLevel, connection=connection, marketplace_id=marketplace_id
        )
    return len(levels)


def inventory_quantities(*, connection: SellerConnection, level: InventoryLevel) -> dict[str, Any]:
    """{"fba": {...} | None, "mfn_quantity": int | None}, decrypted."""
    keys = ConnectionKeys(connection)
    code, market, sku = keys.connection_code, level.marketplace_id, level.sku
    fba = mfn = None
    if level.fba_enc:
        aad = InventoryLevel.aad_for(code, market, sku, "fba")
        fba = keys.data.decrypt_json(bytes(level.fba_enc), aad=aad)
    if level.mfn_quantity_enc:
        aad = InventoryLevel.aad_for(code, market, sku, "mfn_quantity")
        mfn = keys.data.decrypt_json(bytes(level.mfn_quantity_enc), aad=aad)
    return {"fba": fba, "mfn_quantity": mfn}


def _fba_quantities(summary: dict) -> dict[str, int | None]:
    details = summary.get("inventoryDetails") or {}

    def number(value: Any) -> int | None:
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def total(name: str, key: str) -> int | None:
        block = details.get(name)
        return number(block.get(key)) if isinstance(block, dict) else None

    return {
        "fulfillable": number(details.get("fulfillableQuantity")),
        "inbound_working": number(details.get("inboundWorkingQuantity")),
        "inbound_shipped": number(details.get("inboundShippedQuantity")),
        "inbound_receiving": number(details.get("inboundReceivingQuantity")),
        "reserved": total("reservedQuantity", "totalReservedQuantity"),
        "unfulfillable": total("unfulfillableQuantity", "totalUnfulfillableQuantity"),
        "researching": total("researchingQuantity", "totalResearchingQuantity"),
        "total": number(summary.get("totalQuantity")),
    }
