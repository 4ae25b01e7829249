"""What the detail page (the catalog) shows, which is not always what the seller submitted.

A seller's edit reaches the listing's own attributes within minutes, but the
catalog item (the merged detail page shoppers see) only when Amazon has merged
the contributions: hours later, days later, or never when another contributor's
value wins. Amazon: "We do not guarantee that the submission you made on the SKU
will show up on the ASIN" (amzn/selling-partner-api-models#4028); the JSON
listings pipeline "can take many hours" (models#4780).

The simulator models this per content change (title, bullets, description,
images): a delay drawn from the seed between SIM_CATALOG_DELAY_MIN_HOURS and
SIM_CATALOG_DELAY_MAX_HOURS (default 3 to 48), and a share of edits that never
reach the catalog (SIM_CATALOG_LOSING_SHARE, default 0.05). Changes of other
fields (price, quantity, status...) are the offer's, not the catalog's: they
have no lag. A change made by another contributor ("contributor" changes) is
the reverse: it shows in the catalog only, never in the seller's attributes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from .hashing import units

if TYPE_CHECKING:
    from .world import Change, Product, Seller, World

# The fields whose values live on the detail page, merged from every contributor.
CATALOG_FIELDS = ("title", "description", "bullet", "image")
# Change.source of a change by Amazon or another seller: catalog only.
CONTRIBUTOR = "contributor"


@dataclass(frozen=True)
class CatalogLag:
    min_hours: float = 3.0
    max_hours: float = 48.0
    losing_share: float = 0.05

    @classmethod
    def from_env(cls) -> CatalogLag:
        lag = cls(
            min_hours=float(os.environ.get("SIM_CATALOG_DELAY_MIN_HOURS", cls.min_hours)),
            max_hours=float(os.environ.get("SIM_CATALOG_DELAY_MAX_HOURS", cls.max_hours)),
            losing_share=float(os.environ.get("SIM_CATALOG_LOSING_SHARE", cls.losing_share)),
        )
        if not 0 <= lag.min_hours <= lag.max_hours or not 0 <= lag.losing_share <= 1:
            raise ValueError("catalog delay needs 0 <= min <= max hours and a share in [0, 1]")
        return lag


def is_catalog_field(name: str) -> bool:
    return name.partition(":")[0] in CATALOG_FIELDS


def catalog_timing(
    world: World,
    seller: Seller,
    product: Product,
    *,
    name: str,
    at: datetime,
    delay: timedelta | None = None,
    loses: bool | None = None,
) -> tuple[datetime | None, bool]:
    """(when the catalog shows the change, whether it loses) for a change made at `at`.

    Not a content field: at once, never loses. A content field: `delay` and
    `loses` when given (tests, the control API), else drawn from the seed, so the
    same world always lags the same way. A losing change has no catalog time.
    """
    if not is_catalog_field(name):
        return at, False
    lag: CatalogLag = getattr(world, "catalog_lag", None) or CatalogLag()
    # Keyed by the change's rank among the product's changes, not its time (the
    # control API's times carry the wall clock's microseconds): the same world
    # and the same edits always lag the same way.
    rank = len(product.changes)
    u = units(2, world.seed, seller.index, product.index, name, rank, "catalog-lag")
    if loses is None:
        loses = u[0] < lag.losing_share
    if loses:
        return None, True
    if delay is None:
        delay = timedelta(hours=lag.min_hours + u[1] * (lag.max_hours - lag.min_hours))
    if delay < timedelta(0):
        raise ValueError("a catalog delay cannot be negative")
    return at + delay, False


def seller_side(change: Change) -> bool:
    """True when the change is in the seller's own listing (all but other contributors')."""
    return change.source != CONTRIBUTOR


def shown_at(change: Change) -> datetime | None:
    """When shoppers see the change on the detail page (None: never)."""
    if change.loses:
        return None
    return change.catalog_at or change.at


def shown_before(change: Change, moment: datetime) -> bool:
    """True when shoppers see the change before `moment` (the end of a marketplace day)."""
    when = shown_at(change)
    return when is not None and when < moment


def catalog_listing_at(world: World, seller: Seller, product: Product, when: datetime) -> dict:
    """The listing as the catalog shows it at `when`: the same keys as World.listing_at.

    Content fields take each change from its catalog time (never for a losing
    one); the rest of the listing (price, quantity, status) is the seller's own.
    """
    own = world.listing_at(seller, product, when)
    shown = sorted(
        (
            replace(c, at=shown_at(c), source="catalog")
            for c in product.changes
            if is_catalog_field(c.field) and shown_at(c) is not None and shown_at(c) <= when
        ),
        key=lambda c: c.at,
    )
    if not any(is_catalog_field(c.field) for c in product.changes):
        return own
    catalog = world.listing_at(seller, replace(product, changes=shown), when)
    for key in ("title", "description", "bullets", "images"):
        own[key] = catalog[key]
    return own
