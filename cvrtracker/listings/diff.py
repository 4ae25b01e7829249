"""Field-level changes between two canonical contents of a listing (normalize.py).

Pure: two shopper-side contents in (what the detail page and the offer showed
at two syncs), the changes out; no database, no keys. The seller's own side
("seller") is never compared: an edit the detail page does not show yet is no
change for shoppers.

What is a change, field by field (ListingChange.Field):
- title, description: the text differs ("edited"); brand, product_type:
  the catalog's value differs ("changed"). A key the old content lacks is never
  a change: snapshots taken before brand and product type were kept have none,
  and a sync whose catalog item is missing has none either.
- bullet: each bullet by position, as a sequence: an inserted bullet is one
  "added" (not an edit of every bullet after it), a deleted one one "removed"
  (position: where it was), a rewritten one "edited", one that moved
  "reordered" (position: where it is now, "from_position": where it was).
- main_image: the MAIN image's link ("added", "removed", "edited" = replaced);
  image: the other images' links in gallery order, like bullets.
- price: the B2C offer's price ("changed", "added", "removed") with "pct", the
  change in % (null when the currency changed or there was no price before).
- fba_stock, mfn_stock: only a quantity crossing zero ("out_of_stock",
  "back_in_stock"); plain moves are not changes, nor is an unknown quantity
  becoming known (or the reverse). The sync stores fba_stock from the FBA
  inventory instead (services.inventory_upsert_fba), not from this diff.
- status: the set of Amazon statuses (BUYABLE, DISCOVERABLE) differs ("changed").
- issue: an issue code appearing ("appeared") or clearing ("cleared"), with its
  severity and whether it suppresses the listing (an ERROR enforced by
  SEARCH_SUPPRESSED or LISTING_SUPPRESSED).

`content_apply(old, changes)` gives the content the changes lead to; the
property tests check that it gives back the new content on what is compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from .normalize import SELLER_SIDE

# Enforcement actions that hide a listing from shoppers (Listings Items 2021-08-01).
SUPPRESSING_ACTIONS = frozenset({"SEARCH_SUPPRESSED", "LISTING_SUPPRESSED"})
MAIN_VARIANT = "MAIN"

TEXT_FIELDS = (("title", "title", "edited"), ("description", "description", "edited"))
# Kept only when the catalog gives them: a missing key means "not known".
OPTIONAL_FIELDS = (("brand", "brand"), ("product_type", "product_type"))
STOCK_FIELDS = (("fba_quantity", "fba_stock"), ("mfn_quantity", "mfn_stock"))


@dataclass(frozen=True)
class FieldChange:
    """One change of one field; `position` is 1-based (bullets and other images)."""

    field: str  # ListingChange.Field
    action: str
    before: Any
    after: Any
    position: int | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """The stored payload (listings/changes.py): action, before, after and the extras."""
        return {"action": self.action, "before": self.before, "after": self.after, **self.extras}

    @property
    def discriminator(self) -> str:
        """What tells it from other changes of the same field and position in one diff."""
        if self.field == "issue":
            return str((self.after or self.before or {}).get("code", ""))
        return self.action


def content_diff(old: dict | None, new: dict | None) -> list[FieldChange]:
    """The changes from `old` to `new` (shopper-side canonical contents); [] when either
    is None (a first snapshot has nothing to compare with)."""
    if old is None or new is None:
        return []
    if old is new:
        return []
    changes: list[FieldChange] = []
    for key, name, action in TEXT_FIELDS:
        before, after = old.get(key, ""), new.get(key, "")
        if key in old and before != after:
            changes.append(FieldChange(name, action, before, after))
    old_bullets, new_bullets = old.get("bullets") or [], new.get("bullets") or []
    if old_bullets != new_bullets:
        changes += _sequence_diff("bullet", old_bullets, new_bullets)
    old_images, new_images = old.get("images") or [], new.get("images") or []
    if old_images != new_images:
        changes += _images_diff(old_images, new_images)
    if old.get("price") != new.get("price"):
        changes.append(_price_change(old.get("price"), new.get("price")))
    for key, name in STOCK_FIELDS:
        change = _stock_change(name, old.get(key), new.get(key))
        if change is not None:
            changes.append(change)
    old_status, new_status = _status(old), _status(new)
    if old_status != new_status:
        changes.append(FieldChange("status", "changed", old_status, new_status))
    if old.get("issues") != new.get("issues"):
        changes += _issues_diff(old.get("issues") or [], new.get("issues") or [])
    for key, name in OPTIONAL_FIELDS:
        if key in old and key in new and old[key] != new[key]:
            changes.append(FieldChange(name, "changed", old[key], new[key]))
    return changes


def content_apply(old: dict, changes: list[FieldChange]) -> dict:
    """The content `old` becomes with `changes` applied (each change's "after")."""
    new = {k: v for k, v in old.items() if k != SELLER_SIDE}
    by_field: dict[str, list[FieldChange]] = {}
    for change in changes:
        by_field.setdefault(change.field, []).append(change)
    for key, name, _ in TEXT_FIELDS:
        for change in by_field.get(name, []):
            new[key] = change.after
    for key, name in OPTIONAL_FIELDS:
        for change in by_field.get(name, []):
            new[key] = change.after
    if "bullet" in by_field:
        new["bullets"] = _sequence_apply(old.get("bullets") or [], by_field["bullet"])
    if "main_image" in by_field or "image" in by_field:
        main, others = _split_images(old.get("images") or [])
        for change in by_field.get("main_image", []):
            main = change.after
        others = _sequence_apply(others, by_field.get("image", []))
        images = [{"variant": MAIN_VARIANT, "link": main}] if main else []
        images += [{"variant": f"PT{n:02d}", "link": link} for n, link in enumerate(others, 1)]
        new["images"] = images
    for change in by_field.get("price", []):
        new["price"] = change.after
    for key, name in STOCK_FIELDS:
        for change in by_field.get(name, []):
            new[key] = change.after
    for change in by_field.get("status", []):
        new["status"] = list(change.after)
    if "issue" in by_field:
        cleared = {c.before["code"] for c in by_field["issue"] if c.action == "cleared"}
        issues = [i for i in old.get("issues") or [] if i.get("code") not in cleared]
        issues += [c.after for c in by_field["issue"] if c.action == "appeared"]
        new["issues"] = issues
    return new


def content_digest_view(content: dict) -> dict:
    """What the content digest covers: the content with each stock quantity reduced to
    in stock or not (None: unknown). Only crossing zero is a change, so a plain move of
    stock (every order of a merchant-fulfilled listing) stores no new snapshot."""
    view = dict(content)
    for key, _ in STOCK_FIELDS:
        quantity = view.get(key)
        view[key] = quantity > 0 if isinstance(quantity, int) else None
    return view


def is_suppressing(issue: dict) -> bool:
    """True for an issue that hides the listing: an ERROR enforced by a suppression."""
    if issue.get("severity") != "ERROR":
        return False
    return any(action in SUPPRESSING_ACTIONS for action in issue.get("enforcement") or [])


# -- sequences (bullets, other images) ------------------------------------------------


def _sequence_diff(name: str, old: list, new: list) -> list[FieldChange]:
    """Changes between two ordered lists: a longest common subsequence stays, an item
    deleted in one place and inserted in another moved, and within a block between two
    kept items the remaining ones are edited pairwise (the rest added or removed)."""
    deleted: list[tuple[int, int]] = []  # (old index, block)
    inserted: list[tuple[int, int]] = []  # (new index, block)
    for block, (i1, i2, j1, j2) in enumerate(_unmatched_blocks(old, new)):
        deleted += [(i, block) for i in range(i1, i2)]
        inserted += [(j, block) for j in range(j1, j2)]
    pool: dict[Any, list[int]] = {}
    for i, _ in deleted:
        pool.setdefault(_hashable(old[i]), []).append(i)
    changes: list[FieldChange] = []
    moved: set[int] = set()
    left: dict[int, tuple[list[int], list[int]]] = {}
    for j, block in inserted:
        sources = pool.get(_hashable(new[j]))
        if sources:
            i = sources.pop(0)
            moved.add(i)
            changes.append(
                FieldChange(name, "reordered", old[i], new[j], j + 1, {"from_position": i + 1})
            )
        else:
            left.setdefault(block, ([], []))[1].append(j)
    for i, block in deleted:
        if i not in moved:
            left.setdefault(block, ([], []))[0].append(i)
    for block in sorted(left):
        gone, came = left[block]
        for i, j in zip(gone, came, strict=False):
            extras = {} if i == j else {"from_position": i + 1}
            changes.append(FieldChange(name, "edited", old[i], new[j], j + 1, extras))
        for i in gone[len(came) :]:
            changes.append(FieldChange(name, "removed", old[i], None, i + 1))
        for j in came[len(gone) :]:
            changes.append(FieldChange(name, "added", None, new[j], j + 1))
    changes.sort(key=lambda c: (c.position or 0, c.action))
    return changes


def _unmatched_blocks(old: list, new: list) -> list[tuple[int, int, int, int]]:
    """The runs (old[i1:i2] -> new[j1:j2]) outside a longest common subsequence.

    An exact LCS, not difflib's longest-block heuristic: that one can miss an item kept in
    place (an inserted bullet would then look like a move and an addition). Lists of
    bullets and images are short, so the quadratic table costs nothing.
    """
    n, m = len(old), len(new)
    # lengths[i][j]: the LCS length of old[i:] and new[j:]
    lengths = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row, below = lengths[i], lengths[i + 1]
        for j in range(m - 1, -1, -1):
            row[j] = below[j + 1] + 1 if old[i] == new[j] else max(below[j], row[j + 1])
    blocks = []
    i = j = 0
    start = (0, 0)
    while i < n or j < m:
        if i < n and j < m and old[i] == new[j] and lengths[i][j] == lengths[i + 1][j + 1] + 1:
            if start != (i, j):
                blocks.append((start[0], i, start[1], j))
            i, j = i + 1, j + 1
            start = (i, j)
        elif j >= m or (i < n and lengths[i + 1][j] >= lengths[i][j + 1]):
            i += 1
        else:
            j += 1
    if start != (n, m):
        blocks.append((start[0], n, start[1], m))
    return blocks


def _sequence_apply(old: list, changes: list[FieldChange]) -> list:
    """The list the changes lead to: changed places take their "after", the items that
    stayed fill the other places in their old order."""
    consumed: set[int] = set()
    placed: dict[int, Any] = {}
    added = removed = 0
    for change in changes:
        if change.action == "removed":
            consumed.add(change.position)
            removed += 1
            continue
        if change.action == "added":
            added += 1
        else:
            consumed.add(change.extras.get("from_position", change.position))
        placed[change.position] = change.after
    stayed = iter([item for n, item in enumerate(old, 1) if n not in consumed])
    length = len(old) - removed + added
    return [placed[n] if n in placed else next(stayed) for n in range(1, length + 1)]


def _hashable(value: Any) -> Any:
    return value if isinstance(value, str) else repr(value)


# -- images ---------------------------------------------------------------------------


def _split_images(images: list[dict]) -> tuple[str | None, list[str]]:
    main = None
    others = []
    for image in images:
        if image.get("variant") == MAIN_VARIANT and main is None:
            main = image.get("link")
        elif image.get("variant") != MAIN_VARIANT:
            others.append(image.get("link"))
    return main, others


def _images_diff(old: list[dict], new: list[dict]) -> list[FieldChange]:
    old_main, old_others = _split_images(old)
    new_main, new_others = _split_images(new)
    changes = []
    if old_main != new_main:
        action = "added" if old_main is None else "removed" if new_main is None else "edited"
        changes.append(FieldChange("main_image", action, old_main, new_main))
    if old_others != new_others:
        changes += _sequence_diff("image", old_others, new_others)
    return changes


# -- price, stock, status, issues ------------------------------------------------------


def _price_change(old: dict | None, new: dict | None) -> FieldChange:
    action = "added" if old is None else "removed" if new is None else "changed"
    pct = None
    if old is not None and new is not None and old.get("currency") == new.get("currency"):
        try:
            before, after = Decimal(old["amount"]), Decimal(new["amount"])
        except (KeyError, InvalidOperation):
            before = after = Decimal(0)
        if before > 0:
            pct = round(float((after - before) / before * 100), 2)
    return FieldChange("price", action, old, new, extras={"pct": pct})


def _stock_change(name: str, old: Any, new: Any) -> FieldChange | None:
    if not isinstance(old, int) or not isinstance(new, int):
        return None  # an unknown quantity: nothing crossed zero that we saw
    if old > 0 and new <= 0:
        return FieldChange(name, "out_of_stock", old, new)
    if old <= 0 and new > 0:
        return FieldChange(name, "back_in_stock", old, new)
    return None


def _status(content: dict) -> list[str]:
    return sorted(set(content.get("status") or []))


def _issues_diff(old: list[dict], new: list[dict]) -> list[FieldChange]:
    old_by_code, new_by_code = _by_code(old), _by_code(new)
    changes = []
    for code, issue in new_by_code.items():
        if code not in old_by_code:
            changes.append(
                FieldChange("issue", "appeared", None, issue, extras=_issue_extras(issue))
            )
    for code, issue in old_by_code.items():
        if code not in new_by_code:
            changes.append(
                FieldChange("issue", "cleared", issue, None, extras=_issue_extras(issue))
            )
    return changes


def _by_code(issues: list[dict]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for issue in issues:
        out.setdefault(str(issue.get("code", "")), issue)
    return out


def _issue_extras(issue: dict) -> dict[str, Any]:
    return {"severity": issue.get("severity", ""), "suppresses": is_suppressing(issue)}
