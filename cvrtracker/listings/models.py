"""Listings, their snapshots and changes, and inventory levels, encrypted per connection.

Plaintext is limited to identifiers (marketplace, SKU, ASIN), statuses that
queries filter on, and timestamps. Titles, bullets, descriptions, image links,
prices, issues and every quantity are AES-256-GCM ciphertexts under the
connection's data key, with associated data naming the table, row and field.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models

from cvrtracker.amazon.models import SellerConnection
from cvrtracker.lib import clock
from cvrtracker.lib.crypto import associated_data
from cvrtracker.metrics.keys import natural_row


class Listing(models.Model):
    """One SKU in one marketplace, as searchListingsItems lists it.

    The plan counts products, not listings: a product is an ASIN of a seller
    account (every SKU and marketplace of it), or the SKU while Amazon has not
    assigned an ASIN yet (`product_key`). All listings of a product share one
    `tracking` state.
    """

    class Status(models.TextChoices):
        # Derived from Amazon's summaries.status list, for filtering without decrypting.
        BUYABLE = "buyable", "Buyable"
        DISCOVERABLE = "discoverable", "Discoverable only"
        INACTIVE = "inactive", "Inactive"

    class Tracking(models.TextChoices):
        # Snapshotted every sync (and, later, on the dashboard and in alerts).
        TRACKED = "tracked", "Tracked"
        # Met while the team's plan had no free place: a later sync tracks it
        # once there is one (an upgrade, a product stopped).
        OVER_LIMIT = "over_limit", "Not tracked: plan limit"
        # The seller stopped tracking it: only the seller starts it again.
        STOPPED = "stopped", "Not tracked"

    class ChangedBy(models.TextChoices):
        SELLER = "seller", "Your edit"
        OTHER = "other", "Amazon or another contributor"

    TABLE = "listings_listing"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    connection = models.ForeignKey(
        SellerConnection, on_delete=models.CASCADE, related_name="listings"
    )
    marketplace_id = models.CharField(max_length=32)
    sku = models.CharField(max_length=200)
    asin = models.CharField(max_length=16, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.INACTIVE)
    # Not tracked until the sync or the seller has found it a place in the plan.
    tracking = models.CharField(
        max_length=12, choices=Tracking.choices, default=Tracking.OVER_LIMIT
    )
    # The title from the listing's own summary, kept for untracked listings too
    # so the products page can name every product.
    title_enc = models.BinaryField(null=True, editable=False)
    # The latest canonical content (see normalize.listing_content_from); empty
    # for a listing never tracked.
    content_enc = models.BinaryField(editable=False)
    # When the detail page (the catalog side of the snapshots) last changed, and
    # whether that was the seller's own edit going live or Amazon's / another
    # contributor's (see listings/edits.py); blank when not known.
    catalog_changed_at = models.DateTimeField(null=True, blank=True)
    catalog_changed_by = models.CharField(
        max_length=8, choices=ChangedBy.choices, blank=True, default=""
    )
    # The seller's edits seen in the listing's attributes that the detail page
    # does not show yet (field names only), and since when.
    pending_fields = models.JSONField(default=list, blank=True)
    edit_pending_since = models.DateTimeField(null=True, blank=True)
    # The last sync that read the listing's content, and when: a snapshot is stored
    # only when the content changed, so this dates "last seen unchanged" (the
    # start of the interval a change is seen in).
    content_sync_id = models.CharField(max_length=64, blank=True, default="")
    content_seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "marketplace_id", "sku"], name="listings_listing_unique"
            )
        ]
        indexes = [
            models.Index(fields=["connection", "asin"], name="listings_listing_asin"),
            # The plan's count of tracked products runs on every sync page and toggle.
            models.Index(fields=["connection", "tracking"], name="listings_listing_tracking"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} ({self.marketplace_id})"

    def aad(self, field: str) -> bytes:
        return associated_data(self.TABLE, str(self.code), field)

    @property
    def is_tracked(self) -> bool:
        return self.tracking == self.Tracking.TRACKED

    @property
    def product_key(self) -> str:
        """What the plan counts as one product of this seller account."""
        return self.asin or f"sku:{self.sku}"

    def latest_snapshot(self) -> ListingSnapshot | None:
        return self.snapshots.order_by("-taken_at", "-id").first()

    def edit_not_live(self, now: datetime | None = None) -> bool:
        """True when a seller's edit has waited LISTING_EDIT_LIVE_DAYS for the detail page."""
        if self.edit_pending_since is None:
            return False
        waited = (now or clock.now()) - self.edit_pending_since
        return waited >= timedelta(days=settings.LISTING_EDIT_LIVE_DAYS)


class ListingSnapshot(models.Model):
    """The content of a listing as the sync that first saw it read it: a snapshot is stored
    only when the content differs from the listing's previous one (at most one per listing
    and sync); the listing's content_seen_at says when it was last read unchanged."""

    TABLE = "listings_listingsnapshot"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="snapshots")
    sync_id = models.CharField(max_length=64)
    taken_at = models.DateTimeField()
    content_enc = models.BinaryField(editable=False)
    # Keyed HMAC of the seller's own side (normalize.seller_content_from); blank
    # for snapshots taken before both sides were kept, and without attributes.
    seller_digest = models.CharField(max_length=64, blank=True, default="")
    # Keyed HMAC of the canonical content: equal snapshots have equal digests, so
    # "did anything change?" needs no decryption, and without the connection's key
    # a digest reveals nothing (a plain hash would confirm a guessed title). It
    # covers what shoppers saw (the catalog side): a seller's edit that is not
    # live yet is no change of the detail page.
    digest = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["listing", "sync_id"], name="listings_snapshot_unique")
        ]
        indexes = [models.Index(fields=["listing", "taken_at"], name="listings_snapshot_taken")]

    def __str__(self) -> str:
        return f"{self.listing_id} @ {self.taken_at:%Y-%m-%d %H:%M}"

    def aad(self, field: str) -> bytes:
        return associated_data(self.TABLE, str(self.code), field)


class InventoryLevel(models.Model):
    """FBA and merchant-fulfilled stock of one SKU in one marketplace."""

    TABLE = "listings_inventorylevel"

    connection = models.ForeignKey(
        SellerConnection, on_delete=models.CASCADE, related_name="inventory_levels"
    )
    marketplace_id = models.CharField(max_length=32)
    sku = models.CharField(max_length=200)
    asin = models.CharField(max_length=16, blank=True)
    # {"fulfillable", "inbound_working", "inbound_shipped", "inbound_receiving",
    #  "reserved", "unfulfillable", "researching", "total"}
    fba_enc = models.BinaryField(null=True, editable=False)
    fba_updated_at = models.DateTimeField(null=True, blank=True)
    mfn_quantity_enc = models.BinaryField(null=True, editable=False)
    mfn_updated_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "marketplace_id", "sku"], name="listings_inventory_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.sku} ({self.marketplace_id})"

    @staticmethod
    def aad_for(connection_code: str, marketplace_id: str, sku: str, field: str) -> bytes:
        # Bound to the natural key rather than a surrogate: the bulk upsert writes
        # ciphertexts before it knows whether the row exists.
        return associated_data(
            InventoryLevel.TABLE, natural_row(connection_code, marketplace_id, sku), field
        )


class ListingChange(models.Model):
    """One dated change on a listing's history: seen between two syncs, inferred from the
    daily metrics before tracking began, or derived from the metrics (Buy Box, stock-outs).

    Plaintext is what queries filter on: the listing (and its marketplace, SKU and
    ASIN), the field kind, the day and the source. What changed (action, before,
    after, the price's % change, an issue's severity...) is one AES-256-GCM
    ciphertext under the connection's data key (`payload_enc`, see changes.py).
    """

    TABLE = "listings_listingchange"

    class Source(models.TextChoices):
        # Two snapshots of the listing differ: seen between `seen_after` and `seen_at`.
        OBSERVED = "observed", "Seen on the listing"
        # A sustained step in daily ordered sales ÷ units before tracking began.
        INFERRED = "inferred", "Inferred from sales"
        # Read from the daily metrics: Buy Box share, stock-outs.
        DERIVED = "derived", "From the daily metrics"

    class Field(models.TextChoices):
        TITLE = "title", "Title"
        BULLET = "bullet", "Bullet point"
        DESCRIPTION = "description", "Description"
        MAIN_IMAGE = "main_image", "Main image"
        IMAGE = "image", "Other image"
        PRICE = "price", "Price"
        FBA_STOCK = "fba_stock", "FBA stock"
        MFN_STOCK = "mfn_stock", "Merchant stock"
        STATUS = "status", "Status"
        ISSUE = "issue", "Listing issue"
        BRAND = "brand", "Brand"
        PRODUCT_TYPE = "product_type", "Product type"
        BUY_BOX = "buy_box", "Buy Box share"
        STOCK_OUT = "stock_out", "Stock-out"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    connection = models.ForeignKey(
        SellerConnection, on_delete=models.CASCADE, related_name="listing_changes"
    )
    # Null for an inferred or derived change of an ASIN no listing row carries.
    listing = models.ForeignKey(
        Listing, on_delete=models.CASCADE, null=True, blank=True, related_name="changes"
    )
    marketplace_id = models.CharField(max_length=32)
    asin = models.CharField(max_length=16, blank=True)
    sku = models.CharField(max_length=200, blank=True)
    field = models.CharField(max_length=16, choices=Field.choices)
    # 1-based: a bullet's position, or an other image's place in the gallery; else null.
    position = models.PositiveSmallIntegerField(null=True, blank=True)
    source = models.CharField(max_length=8, choices=Source.choices)
    # The marketplace's local day the change is dated on (for an observed change,
    # the day of `seen_at`).
    day = models.DateField()
    # The interval in which it happened: the last time the listing was seen in its
    # old state and the sync that saw the new one (inferred and derived changes:
    # the start of the last day before and the end of the day).
    seen_after = models.DateTimeField(null=True, blank=True)
    seen_at = models.DateTimeField()
    # The snapshot that saw an observed change.
    snapshot = models.ForeignKey(
        ListingSnapshot, on_delete=models.CASCADE, null=True, blank=True, related_name="changes"
    )
    # Deterministic per change, so a retried sync or derivation stores it once.
    key = models.CharField(max_length=200)
    payload_enc = models.BinaryField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "key"], name="listings_change_key")
        ]
        indexes = [
            models.Index(fields=["connection", "-day", "-id"], name="listings_change_day"),
            models.Index(fields=["listing", "-day"], name="listings_change_listing"),
            models.Index(fields=["connection", "asin", "-day"], name="listings_change_asin"),
        ]

    def __str__(self) -> str:
        return f"{self.asin or self.sku} {self.field} {self.day}"

    def aad(self, field: str) -> bytes:
        return associated_data(self.TABLE, str(self.code), field)
