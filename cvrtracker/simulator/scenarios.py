"""The demo world's scripted changes (documented in README.md).

The first ten products of every seller carry one named story each, dated
relative to the world's first day; every other product has a 5% chance of one
background change somewhere in the two years of history, with a hashed effect
that is a lift, a drop or nothing at all.
"""

from __future__ import annotations

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
    kinds = ("title", "bullet:1", "image:MAIN", "description", "price")
    scripted = {s[0] for s in SCRIPT}
    for p in (products[i] for i in seller.background if i not in scripted):
        u = units(4, world.seed, seller.index, p.index, "background-change")
        name = kinds[int(u[0] * len(kinds))]
        # A third of changes do nothing, a third lift, a third hurt: like real listings.
        effect = (1.0, 1.05 + 0.25 * u[2], 0.75 + 0.2 * u[2])[int(u[1] * 3)]
        world.add_change(
            seller,
            p,
            name=name,
            value=_scripted_value(world, seller, p, name, 1),
            at=start - timedelta(days=3 + int(u[3] * (700 - 3))),
            effect=effect,
            source="scripted",
            note="background change",
        )
