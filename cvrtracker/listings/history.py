"""The change history as the pages show it, and the audit of every read of it.

`change_views` turns selector rows (decrypted payloads, see changes.py) into what
a template prints: readable before → after values, a word-level diff for bullets
and descriptions, image links, the price's % change, and the interval in which
the change was seen, in the marketplace's time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.http import HttpRequest
from django.utils.safestring import SafeString

from cvrtracker.accounts.models import User
from cvrtracker.amazon.images import image_src
from cvrtracker.amazon.marketplaces import zone
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.audit.models import AuditEntry
from cvrtracker.audit.services import audit_record

from .models import Listing, ListingChange
from .selectors import ChangeRow
from .textdiff import word_diff

Field = ListingChange.Field
Source = ListingChange.Source

ACTION_LABELS = {
    "added": "Added",
    "removed": "Removed",
    "edited": "Edited",
    "reordered": "Moved",
    "changed": "Changed",
    "out_of_stock": "Out of stock",
    "back_in_stock": "Back in stock",
    "appeared": "Appeared",
    "cleared": "Cleared",
    "lost": "Lost",
    "won_back": "Won back",
}
# What a source badge means, shown beside the badge and in the page's legend.
SOURCE_EXPLANATIONS = {
    Source.OBSERVED: (
        "Seen on the listing: two of our syncs read different content "
        "(FBA stock: different quantities in the FBA inventory)."
    ),
    Source.INFERRED: (
        "Inferred: not seen on the listing but estimated from Amazon's daily sales ÷ units "
        "(a sustained step of at least 3%), for days before tracking began."
    ),
    Source.DERIVED: (
        "Derived: read from the daily metrics (Buy Box share, units and inventory), "
        "not from the listing's content."
    ),
}
TEXT_DIFF_FIELDS = (Field.BULLET, Field.DESCRIPTION)
PLAIN_TEXT_FIELDS = (Field.TITLE, Field.BRAND, Field.PRODUCT_TYPE)
IMAGE_FIELDS = (Field.MAIN_IMAGE, Field.IMAGE)
QUANTITY_FIELDS = (Field.FBA_STOCK, Field.MFN_STOCK, Field.STOCK_OUT)


@dataclass(frozen=True)
class ImageLink:
    link: str
    # Only an https link becomes an <img>: the CSP allows https images, and
    # anything else (a javascript: or data: link) is shown as text, never loaded.
    loadable: bool
    name: str


@dataclass
class ChangeView:
    """One change as a template prints it."""

    code: str
    field: str
    field_label: str
    position: int | None
    source: str
    source_label: str
    source_explanation: str
    action: str
    action_label: str
    asin: str
    sku: str
    marketplace: str
    listing_code: str
    interval: str
    kind: str = "text"  # text | diff | image | issue | note | unreadable
    before: str = ""
    after: str = ""
    diff: SafeString | None = None
    before_image: ImageLink | None = None
    after_image: ImageLink | None = None
    pct: str = ""
    note: str = ""

    @property
    def images(self) -> list[tuple[str, ImageLink | None]]:
        return [("Before", self.before_image), ("After", self.after_image)]


def _clock(moment: datetime, marketplace_id: str) -> datetime:
    return moment.astimezone(zone(marketplace_id))


def change_interval(change: ListingChange) -> str:
    """When the change happened, as honestly as we know it, in the marketplace's time."""
    day = f"{change.day:%a %-d %b %Y}"
    if change.source != Source.OBSERVED:
        return f"on {day} (a day of Amazon's daily metrics)"
    seen_at = _clock(change.seen_at, change.marketplace_id)
    if change.seen_after is None:
        return f"first seen at {seen_at:%H:%M %Z} on {day}"
    seen_after = _clock(change.seen_after, change.marketplace_id)
    if seen_after.date() == seen_at.date():
        return f"between {seen_after:%H:%M} and {seen_at:%H:%M %Z} on {day}"
    return f"between {seen_after:%a %-d %b %H:%M} and {seen_at:%a %-d %b %H:%M %Z}"


def _image(value: Any) -> ImageLink | None:
    if not isinstance(value, str) or not value:
        return None
    parts = urlsplit(value)
    name = parts.path.rsplit("/", 1)[-1] or value
    # image_src: https links as they are, the demo simulator's through its relay.
    src = image_src(value) if parts.netloc else ""
    return ImageLink(link=src or value, loadable=bool(src), name=name)


def _money(value: Any) -> str:
    if isinstance(value, dict) and value.get("amount") is not None:
        return f"{value['amount']} {value.get('currency', '')}".strip()
    return "none"


def _plain(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        return ", ".join(str(v).replace("_", " ").capitalize() for v in value) or "none"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _issue(value: Any) -> str:
    if not isinstance(value, dict):
        return "none"
    severity = str(value.get("severity") or "").capitalize()
    message = str(value.get("message") or "")
    code = str(value.get("code") or "")
    text = f"{severity}: {message}" if severity else message
    return f"{text} ({code})" if code else text


def _fill(view: ChangeView, change: ListingChange, payload: dict[str, Any], *, diff: bool) -> None:
    before, after = payload.get("before"), payload.get("after")
    if payload.get("from_position"):
        view.note = f"Moved from position {payload['from_position']} to {change.position}."
    if change.field in TEXT_DIFF_FIELDS:
        view.kind = "diff"
        if diff:
            view.diff = word_diff(before if isinstance(before, str) else "", after or "")
    elif change.field in IMAGE_FIELDS:
        view.kind = "image"
        view.before_image, view.after_image = _image(before), _image(after)
    elif change.field == Field.PRICE:
        view.before, view.after = _money(before), _money(after)
        pct = payload.get("pct")
        if isinstance(pct, int | float):
            view.pct = f"{pct:+.2f}%"
    elif change.field == Field.ISSUE:
        view.kind = "issue"
        view.before, view.after = _issue(before), _issue(after)
        if payload.get("suppresses"):
            view.note = "This issue suppresses the listing: shoppers cannot find or buy it."
    elif change.field == Field.BUY_BOX:
        view.before = f"{before:g}%" if isinstance(before, int | float) else "none"
        view.after = f"{after:g}%" if isinstance(after, int | float) else "none"
    elif change.field == Field.STOCK_OUT:
        # The days' unit counts say little on their own: say what the metrics showed.
        view.kind = "note"
        if payload.get("action") == "back_in_stock":
            days = payload.get("days")
            view.note = "Selling again" + (
                f" after {days} day{'s' if days != 1 else ''} out of stock."
                if isinstance(days, int)
                else "."
            )
        else:
            view.note = "No units sold and no Buy Box from this day on, while shoppers still came."
    elif change.field in QUANTITY_FIELDS:
        view.before = f"{before} in stock" if before is not None else "none"
        view.after = f"{after} in stock" if after is not None else "none"
    else:
        view.before, view.after = _plain(before), _plain(after)


def change_views(
    *, rows: list[ChangeRow], marketplaces: dict[str, str], diffs: bool = True
) -> list[ChangeView]:
    """What the history pages print for each row; `marketplaces` names the ids. Without
    `diffs` a text change has no word diff (the downloads write whole texts: the diff
    of a long description is the largest part of a view)."""
    views = []
    for row in rows:
        change = row.change
        payload = row.payload or {}
        action = str(payload.get("action", ""))
        view = ChangeView(
            code=str(change.code),
            field=change.field,
            field_label=change.get_field_display(),
            position=change.position,
            source=change.source,
            source_label=change.get_source_display(),
            source_explanation=SOURCE_EXPLANATIONS.get(change.source, ""),
            action=action,
            action_label=ACTION_LABELS.get(action, action.replace("_", " ").capitalize()),
            asin=change.asin,
            sku=change.sku,
            marketplace=marketplaces.get(change.marketplace_id, change.marketplace_id),
            listing_code=str(change.listing.code) if change.listing else "",
            interval=change_interval(change),
        )
        if row.payload is None:
            view.kind = "unreadable"
        else:
            _fill(view, change, payload, diff=diffs)
        views.append(view)
    return views


def listing_changes_record_read(
    *,
    actor: User,
    connection: SellerConnection,
    listing: Listing | None = None,
    request: HttpRequest | None = None,
) -> None:
    """Audit one read of a change history page, before it is served: every access to
    Amazon data leaves a trace. The target is the product's listing, or the account."""
    audit_record(
        action=AuditEntry.Action.CHANGES_READ,
        request=request,
        actor=actor,
        team=connection.team,
        target=listing or connection,
    )
