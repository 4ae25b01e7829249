"""Record listing snapshots and inventory levels, encrypted under the connection's key."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from cvrtracker.amazon.models import SellerConnection
from cvrtracker.metrics.keys import ConnectionKeys, canonical_json

from .models import InventoryLevel, Listing, ListingSnapshot
from .normalize import listing_content_from

CONTENT_DIGEST = "listing-content"


def listing_record_snapshot(
    *,
    connection: SellerConnection,
    marketplace_id: str,
    item: dict,
    catalog_item: dict | None,
    sync_id: str,
) -> ListingSnapshot:
    """The listing's snapshot for this sync, created on the first call for (listing, sync_id).

    Also updates the listing's current content and status. Calling it again for
    the same sync (a retried job) returns the existing snapshot unchanged.
    """
    sku = item.get("sku")
    if not isinstance(sku, str) or not sku:
        raise ValueError("a listings item without a sku")
    content = listing_content_from(item, catalog_item, marketplace_id=marketplace_id)
    summary = next(
        (s for s in item.get("summaries") or [] if s.get("marketplaceId") == marketplace_id), {}
    )
    keys = ConnectionKeys(connection)
    digest = keys.blind_index(CONTENT_DIGEST, canonical_json(content))
    with transaction.atomic():
        listing = _locked_listing(connection, marketplace_id, sku)
        existing = listing.snapshots.filter(sync_id=sync_id).first()
        if existing is not None:
            return existing
        listing.asin = str(summary.get("asin") or listing.asin)
        listing.status = _status(content["status"])
        listing.content_enc = keys.data.encrypt_json(content, aad=listing.aad("content"))
        listing.save()
        snapshot = ListingSnapshot(listing=listing, sync_id=sync_id, taken_at=timezone.now())
        snapshot.content_enc = keys.data.encrypt_json(content, aad=snapshot.aad("content"))
        snapshot.digest = digest
        snapshot.save()
    return snapshot


def _locked_listing(connection: SellerConnection, marketplace_id: str, sku: str) -> Listing:
    key = {"connection": connection, "marketplace_id": marketplace_id, "sku": sku}
    listing = Listing.objects.select_for_update().filter(**key).first()
    if listing is not None:
        return listing
    try:
        with transaction.atomic():
            return Listing.objects.create(**key, content_enc=b"")
    except IntegrityError:
        return Listing.objects.select_for_update().get(**key)


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
    so they can be written before knowing whether the row exists.
    """
    keys = ConnectionKeys(connection)
    now = timezone.now()
    rows: dict[str, InventoryLevel] = {}
    for summary in summaries:
        sku = summary.get("sellerSku")
        if not isinstance(sku, str) or not sku:
            raise ValueError("an inventory summary without a sellerSku")
        quantities = _fba_quantities(summary)
        aad = InventoryLevel.aad_for(keys.connection_code, marketplace_id, sku, "fba")
        rows[sku] = InventoryLevel(
            connection=connection,
            marketplace_id=marketplace_id,
            sku=sku,
            asin=str(summary.get("asin") or ""),
            fba_enc=keys.data.encrypt_json(quantities, aad=aad),
            fba_updated_at=now,
            updated_at=now,
        )
    InventoryLevel.objects.bulk_create(
        list(rows.values()),
        update_conflicts=True,
        unique_fields=["connection", "marketplace_id", "sku"],
        update_fields=["asin", "fba_enc", "fba_updated_at", "updated_at"],
    )
    return len(rows)


def inventory_upsert_mfn(
    *, connection: SellerConnection, marketplace_id: str, sku: str, quantity: int | None
) -> InventoryLevel:
    """Store the merchant-fulfilled quantity of one SKU (fulfillmentAvailability DEFAULT)."""
    keys = ConnectionKeys(connection)
    aad = InventoryLevel.aad_for(keys.connection_code, marketplace_id, sku, "mfn_quantity")
    now = timezone.now()
    level, _ = InventoryLevel.objects.update_or_create(
        connection=connection,
        marketplace_id=marketplace_id,
        sku=sku,
        defaults={
            "mfn_quantity_enc": keys.data.encrypt_json(quantity, aad=aad),
            "mfn_updated_at": now,
        },
    )
    return level


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
