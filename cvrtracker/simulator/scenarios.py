"""The demo world's scripted changes (documented in README.md).

The first ten products of every seller carry one named story each, dated
relative to the world's first day. The others get background content changes
(title, a bullet, an image, the description, the price) at a rate per product
and year (SIM_CHANGE_RATE, amazonsim --change-rate), spread over the two years
of history, each with a hashed effect that is a lift, a drop or nothing at all
(a price change's effect is its elasticity), on days of its own.

The default rate keeps the world as it always was: 5% of products changed once
in the BACKGROUND_SPAN_DAYS of history (a Poisson count, so about one in a
thousand products gets a second change).
"""

from __future__ import annotations

import math
import os
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from . import content
from .hashing import units

if TYPE_CHECKING:
    from .world import Product, Seller, World

# The named stories reach the detail page this long after the seller's edit, on
# the same day, so each story's effect starts on the day it names. Background
# changes lag (or lose) as the world's catalog_lag draws them.
STORY_CATALOG_DELAY = timedelta(hours=4)

# Background changes fall 3 to 699 days before the first day.
BACKGROUND_FIRST_DAY = 3
BACKGROUND_SPAN_DAYS = 697
# Changes per product and year that give 5% of products at least one change in the span.
DEFAULT_CHANGE_RATE = -math.log(0.95) * 365 / BACKGROUND_SPAN_DAYS  # about 0.027
MAX_CHANGE_RATE = 100.0
# What later background changes append to a description, by version.
DESCRIPTION_ADDITIONS = (
    " Now with an extended two-year warranty.",
    " Updated for this season with sturdier materials.",
    " Ships in plastic-free, recyclable packaging.",
    " Now includes a printed quick-start guide.",
)

# (product index, days from the first day, field, conversion multiplier, note)
SCRIPT: tuple[tuple[int, int, str, float, str], ...] = (
    (0, -60, "image:MAIN", 1.25, "new main image: conversion +25%"),
    (1, -45, "title", 0.85, "title rewrite: conversion -15%"),
    (2, -30, "bullet:2", 1.0, "bullet 3 rewrite: no effect"),
    (3, -40, "price", 0.0, "price cut 20%: lift from price elasticity"),
    (4, -25, "quantity", 1.0, "FBA stock-out for 10 days: units 0, sessions go on"),
    (4, -15, "quantity", 1.0, "restocked"),
    (5, -12, "buy_box", 1.0, "Buy Box lost to another offer for 7 days"),
    (5, -5, "buy_box", 1.0, "Buy Box won back"),
    (6, -20, "issue", 1.0, "listing suppressed (missing attribute) for 6 days"),
    (6, -14, "issue", 1.0, "suppression fixed"),
    (7, -90, "description", 1.0, "description rewrite: no effect"),
    (8, -8, "bullet:0", 1.12, "bullet 1 rewrite: conversion +12%"),
    (9, 2, "title", 1.10, "title rewrite two days after start: conversion +10%"),
)


def _scripted_value(world: World, seller: Seller, p: Product, name: str, version: int) -> object:
    copy = world.base_copy(seller, p)
    kind, _, arg = name.partition(":")
    if kind == "title":
        return content.rewritten_title(copy["title"], version)
    if kind == "bullet":
        return content.rewritten_bullet(copy["bullets"][int(arg)], version)
    if kind == "description":
        return copy["description"] + " Now with an extended two-year warranty."
    if kind == "image":
        return world.image(seller, p, arg, version + 1)
    if kind == "price":
        return int(p.launch_price_cents * 0.8) // 100 * 100 + 99
    if kind == "quantity":
        # The first change of a stock-out empties the shelf, the second refills it.
        return 0 if not any(c.field == "quantity" for c in p.changes) else p.base_quantity
    if kind == "buy_box":
        return "LOST" if not any(c.field == "buy_box" for c in p.changes) else "WON"
    if kind == "issue":
        return content.SUPPRESSION_ISSUE if not any(c.field == "issue" for c in p.changes) else None
    raise ValueError(name)


def script_seller(world: World, seller: Seller, products: list[Product]) -> None:
    # Anchored on the world's first day, not on its clock: a clock started in the past
    # (a replay), or moved before the catalogue is first built, dates nothing differently.
    start = datetime.combine(world.day0, time(9, 30), tzinfo=UTC)
    for index, offset, name, effect, note in SCRIPT:
        if index >= len(products):
            continue
        p = products[index]
        world.add_change(
            seller,
            p,
            name=name,
            value=_scripted_value(world, seller, p, name, 0),
            at=start + timedelta(days=offset),
            effect=effect,
            source="scripted",
            note=note,
            catalog_delay=STORY_CATALOG_DELAY,
            loses=False,
        )
    scripted = {s[0] for s in SCRIPT}
    for index, count in seller.background.items():
        if index not in scripted and index < len(products):
            _add_background(world, seller, products[index], count, start)


def change_rate_from_env(value: float | None = None) -> float:
    """Background changes per product and year: `value`, else SIM_CHANGE_RATE, else the
    default (DEFAULT_CHANGE_RATE)."""
    if value is None:
        value = float(os.environ.get("SIM_CHANGE_RATE", DEFAULT_CHANGE_RATE))
    if not 0 <= value <= MAX_CHANGE_RATE:
        raise ValueError(f"the change rate is between 0 and {MAX_CHANGE_RATE:g} a year")
    return value


def _expected(rate: float) -> float:
    return rate * BACKGROUND_SPAN_DAYS / 365


def background_product_share(rate: float) -> float:
    """The share of products with at least one background change."""
    return 1 - math.exp(-_expected(rate))


def background_count(rate: float, u: float) -> int:
    """How many background changes a product gets, from the uniform `u` that picked it
    (u < background_product_share(rate)): a Poisson count of at least one."""
    lam = _expected(rate)
    v = 1 - u  # above exp(-lam), so the count below is at least 1
    k, pmf = 0, math.exp(-lam)
    cdf = pmf
    while v >= cdf and k < BACKGROUND_SPAN_DAYS:
        k += 1
        pmf *= lam / k
        cdf += pmf
    return max(1, k)


# Later background changes pick among these (a bullet or an image at a hashed position).
BACKGROUND_KINDS = ("title", "bullet", "image:MAIN", "image", "description", "price")


def _background_plan(world: World, seller: Seller, p: Product, count: int) -> list[tuple]:
    """(days before the first day, field, effect) of a product's background changes, each
    on a day of its own. The first is drawn as the world always drew its only one."""
    plan, taken = [], set()
    for k in range(count):
        if k == 0:
            u = units(4, world.seed, seller.index, p.index, "background-change")
            kinds = ("title", "bullet:1", "image:MAIN", "description", "price")
            name = kinds[int(u[0] * len(kinds))]
        else:
            u = units(5, world.seed, seller.index, p.index, "background-change", k)
            name = BACKGROUND_KINDS[int(u[0] * len(BACKGROUND_KINDS))]
            if name == "bullet":
                name = f"bullet:{int(u[4] * 5)}"
            elif name == "image":
                name = f"image:PT{1 + int(u[4] * (p.image_count - 1)):02d}"
        # A third of changes do nothing, a third lift, a third hurt: like real listings.
        effect = (1.0, 1.05 + 0.25 * u[2], 0.75 + 0.2 * u[2])[int(u[1] * 3)]
        offset = int(u[3] * BACKGROUND_SPAN_DAYS)
        while offset in taken:
            offset = (offset + 1) % BACKGROUND_SPAN_DAYS
        taken.add(offset)
        plan.append((BACKGROUND_FIRST_DAY + offset, name, effect))
    plan.sort(reverse=True)  # oldest first
    return plan


def _add_background(world: World, seller: Seller, p: Product, count: int, start: datetime) -> None:
    plan = _background_plan(world, seller, p, count)
    # The listing before the first of them, then each field as these changes leave it.
    before = world.listing_at(seller, p, start - timedelta(days=plan[0][0] + 1))
    copy = before["copy"]
    now: dict[str, object] = {}
    for version, (days_back, name, effect) in enumerate(plan):
        current = now.get(name, _current(before, name))
        value = _scripted_value(world, seller, p, name, 1) if count == 1 else None
        step = 0
        while value is None or value == current:
            value = _background_value(world, seller, p, copy, name, version + 1 + step, current)
            step += 1
        now[name] = value
        world.add_change(
            seller,
            p,
            name=name,
            value=value,
            at=start - timedelta(days=days_back),
            effect=effect,
            source="scripted",
            note="background change",
        )


def _current(listing: dict, name: str) -> object:
    kind, _, arg = name.partition(":")
    if kind == "bullet":
        return listing["bullets"][int(arg)]
    if kind == "image":
        return listing["images"].get(arg)
    if kind == "price":
        return listing["price_cents"]
    return listing.get(kind)


def _background_value(
    world: World, seller: Seller, p: Product, copy: dict, name: str, version: int, current: object
) -> object:
    """A new value of `name` for a later background change (versions differ); `copy` is the
    product's base copy."""
    kind, _, arg = name.partition(":")
    if kind == "title":
        return content.rewritten_title(copy["title"], version)
    if kind == "bullet":
        return content.rewritten_bullet(copy["bullets"][int(arg)], version)
    if kind == "description":
        return copy["description"] + DESCRIPTION_ADDITIONS[version % len(DESCRIPTION_ADDITIONS)]
    if kind == "image":
        return world.image(seller, p, arg, version + 1)
    if kind == "price":
        # A move of 5 to 20%, back towards the launch price once it has strayed far.
        u = units(2, world.seed, seller.index, p.index, "background-price", version)
        move = 0.05 + 0.15 * u[0]
        price = int(current)  # type: ignore[call-overload]
        down = price > 1.3 * p.launch_price_cents or (
            price >= 0.75 * p.launch_price_cents and u[1] < 0.5
        )
        cents = price * (1 - move if down else 1 + move)
        return max(199, int(cents) // 100 * 100 + 99)
    raise ValueError(name)
