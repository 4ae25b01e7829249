"""Tell the seller's own edits from other changes of the detail page, and date them.

Pure: two consecutive snapshots in, the listing's next edit state out.

A seller's edit shows in the Listings `attributes` within minutes; the catalog
(the detail page shoppers see) takes it hours or days later, or never when
another contributor's value wins (models#4028). So:
- a change of the catalog side is dated by the snapshot that first saw it;
- it is the seller's own ("seller") when every field that changed on the
  catalog now shows what the seller had submitted and had been seen changing
  on the listing side (at this snapshot or before); otherwise it is Amazon's or
  another contributor's ("other"); it is unknown ("") when the previous snapshot
  kept only the catalog side (taken before both sides were kept);
- an edit seen on the listing side stays pending until the catalog shows it;
  pending longer than LISTING_EDIT_LIVE_DAYS, it is "not live".

Text fields match when equal. Images match when equal or, failing that, when
the catalog's images changed after the edit: the link a seller submits need not
be the link Amazon serves once it has processed the image.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .normalize import CONTENT_FIELDS

BY_SELLER = "seller"
BY_OTHER = "other"


@dataclass(frozen=True)
class EditState:
    catalog_changed: tuple[str, ...]  # fields that changed on the catalog side
    changed_by: str  # BY_SELLER, BY_OTHER or "" (unknown); "" too when nothing changed
    pending_fields: tuple[str, ...]  # the seller's edits the catalog does not show yet
    pending_since: datetime | None


def edit_state_next(
    *,
    previous: tuple[dict | None, dict | None],
    current: tuple[dict | None, dict | None],
    pending_fields: list[str] | tuple[str, ...],
    pending_since: datetime | None,
    now: datetime,
) -> EditState:
    """The state after a snapshot whose sides are `current` = (catalog, seller),
    following one whose sides were `previous` (None: no earlier snapshot)."""
    prev_shown, prev_seller = previous
    shown, seller = current
    pending = set(pending_fields) & set(CONTENT_FIELDS)
    if prev_seller is not None and seller is not None:
        edited = {f for f in CONTENT_FIELDS if prev_seller.get(f) != seller.get(f)}
        if edited and not pending:
            pending_since = now
        pending |= edited
    changed = set()
    if prev_shown is not None and shown is not None:
        changed = {f for f in CONTENT_FIELDS if prev_shown.get(f) != shown.get(f)}
    live = {f for f in pending if seller is not None and _is_live(f, shown, seller, changed)}
    changed_by = ""
    if changed and prev_seller is not None:
        changed_by = BY_SELLER if changed <= live else BY_OTHER
    pending -= live
    return EditState(
        catalog_changed=tuple(f for f in CONTENT_FIELDS if f in changed),
        changed_by=changed_by,
        pending_fields=tuple(f for f in CONTENT_FIELDS if f in pending),
        pending_since=pending_since if pending else None,
    )


def _is_live(field: str, shown: dict | None, seller: dict, changed: set[str]) -> bool:
    if shown is None:
        return False
    if shown.get(field) == seller.get(field):
        return True
    return field == "images" and field in changed
