"""Benchmark: field-level change detection over 50,000 snapshot pairs (goal: <= 5 s).

    .venv/bin/python bench/change_detection.py [--pairs 50000] [--changed 0.10] [--seed 7]

The contents are the simulator's own listings (its copy generator: titles, five
bullets, descriptions, galleries of up to nine images, prices, stock, status),
put in the canonical shape of listings/normalize.py. About `--changed` of the
pairs differ, in mixed ways: a title, bullet or description edit, an inserted,
removed or moved bullet, a replaced main image, an added or removed gallery
image, a price change, a stock-out, a status change, an issue, a brand change;
some pairs change two fields at once. No database: the diff is pure.

Prints:
- content_diff over every pair (what the goal measures);
- what a sync pays per read on top of the diff: the content digest of every read,
  and for a changed one the old content's decrypt, both encryptions of the new
  content (listing and snapshot) and one per change payload (AES-256-GCM under a
  connection's data key), per pair.
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cvrtracker.settings")

import django  # noqa: E402

django.setup()

from cvrtracker.amazon.models import SellerConnection  # noqa: E402
from cvrtracker.listings.diff import content_diff, content_digest_view  # noqa: E402
from cvrtracker.metrics.keys import ConnectionKeys, canonical_json  # noqa: E402
from cvrtracker.simulator.world import World  # noqa: E402

LINK = "https://m.media-amazon.com/images/I/{}.jpg"
SUPPRESSION = {
    "code": "90220",
    "severity": "ERROR",
    "message": "'item_type_keyword' is required but not supplied.",
    "enforcement": ["SEARCH_SUPPRESSED"],
}


def contents(count: int, seed: int) -> list[dict]:
    """`count` canonical contents from the simulator's listings (cycling its products)."""
    world = World(seed=seed, asins=min(count, 20_000))
    seller = world.sellers[0]
    out = []
    for n in range(count):
        product = seller.products[n % len(seller.products)]
        listing = world.listing_at(seller, product, world.clock.now())
        images = [{"variant": v, "link": LINK.format(i)} for v, i in listing["images"].items()]
        quantity = listing["quantity"]
        out.append(
            {
                "title": listing["title"],
                "bullets": list(listing["bullets"]),
                "description": listing["description"],
                "images": images,
                "price": {"amount": f"{listing['price_cents'] / 100:.2f}", "currency": "USD"},
                # FBA stock is not in the listing's availability (the sync reads it from
                # the inventory API); merchant stock is.
                "fba_quantity": None,
                "mfn_quantity": None if product.fba else quantity,
                "status": ["BUYABLE", "DISCOVERABLE"],
                "issues": [],
                "brand": product.brand,
                "product_type": product.category.product_type,
            }
        )
    return out


def mutate(content: dict, rng: random.Random) -> None:
    """One realistic change of `content`, in place."""
    kind = rng.choice(
        [
            "title",
            "bullet_edit",
            "bullet_insert",
            "bullet_remove",
            "bullet_move",
            "description",
            "main_image",
            "image_add",
            "image_remove",
            "price",
            "price",
            "stock_out",
            "status",
            "issue",
            "brand",
        ]
    )
    bullets, images = content["bullets"], content["images"]
    if kind == "title":
        content["title"] = content["title"].replace(",", " -", 1) + ", New"
    elif kind == "bullet_edit" and bullets:
        bullets[rng.randrange(len(bullets))] += " Now with a longer warranty."
    elif kind == "bullet_insert":
        bullets.insert(rng.randrange(len(bullets) + 1), "FREE GIFT with every order.")
    elif kind == "bullet_remove" and bullets:
        bullets.pop(rng.randrange(len(bullets)))
    elif kind == "bullet_move" and len(bullets) > 1:
        bullets.insert(rng.randrange(len(bullets)), bullets.pop())
    elif kind == "description":
        content["description"] += " Rewritten for the holidays."
    elif kind == "main_image":
        images[0] = {"variant": "MAIN", "link": LINK.format(f"new{rng.random():.8f}")}
    elif kind == "image_add":
        images.append({"variant": f"PT{len(images):02d}", "link": LINK.format("added")})
    elif kind == "image_remove" and len(images) > 1:
        images.pop()
    elif kind == "price":
        cents = round(float(content["price"]["amount"]) * 100 * rng.choice([0.9, 0.95, 1.1]))
        content["price"] = {"amount": f"{cents / 100:.2f}", "currency": "USD"}
    elif kind == "stock_out":
        content["mfn_quantity"] = 0 if content["mfn_quantity"] else 5
    elif kind == "status":
        content["status"] = ["DISCOVERABLE"]
    elif kind == "issue":
        content["issues"] = [SUPPRESSION]
    else:
        content["brand"] += " Pro"


def pairs(count: int, changed: float, seed: int) -> list[tuple[dict, dict]]:
    rng = random.Random(seed)
    out = []
    for old in contents(count, seed):
        new = copy.deepcopy(old)
        if rng.random() < changed:
            mutate(new, rng)
            if rng.random() < 0.2:
                mutate(new, rng)  # two fields in one sync
        elif new["mfn_quantity"]:
            new["mfn_quantity"] = max(1, new["mfn_quantity"] - rng.randrange(3))  # orders
        out.append((old, new))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=50_000)
    parser.add_argument("--changed", type=float, default=0.10)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    started = time.perf_counter()
    work = pairs(args.pairs, args.changed, args.seed)
    print(f"{len(work)} pairs built from the simulator in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    found = [content_diff(old, new) for old, new in work]
    diff_seconds = time.perf_counter() - started
    changed = sum(1 for f in found if f)
    kinds: dict[str, int] = {}
    for changes in found:
        for change in changes:
            kinds[change.field] = kinds.get(change.field, 0) + 1
    print(
        f"content_diff: {diff_seconds:.2f} s for {len(work)} pairs "
        f"({diff_seconds / len(work) * 1e6:.1f} us a pair; goal <= 5 s); "
        f"{changed} pairs changed, {sum(kinds.values())} changes: "
        + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
    )

    connection = SellerConnection(region="NA", selling_partner_id="ABENCH")
    connection.create_data_key()
    keys = ConnectionKeys(connection)
    aad = b"bench"
    stored = [keys.data.encrypt_json(old, aad=aad) for old, _ in work]
    old_digests = [
        keys.blind_index("listing-content", canonical_json(content_digest_view(old)))
        for old, _ in work
    ]
    started = time.perf_counter()
    snapshots = 0
    for (_, new), blob, old_digest in zip(work, stored, old_digests, strict=True):
        digest = keys.blind_index("listing-content", canonical_json(content_digest_view(new)))
        if digest == old_digest:
            continue
        snapshots += 1
        previous = keys.data.decrypt_json(blob, aad=aad)
        changes = content_diff(previous, new)
        keys.data.encrypt_json(new, aad=aad)  # the listing's current content
        keys.data.encrypt_json(new, aad=aad)  # the snapshot
        for change in changes:
            keys.data.encrypt_json(change.payload(), aad=aad)
    total = time.perf_counter() - started
    print(
        f"digest + diff + encrypt as a sync does it: {total:.2f} s for {len(work)} reads "
        f"({total / len(work) * 1e6:.1f} us a read; {snapshots} snapshots stored)"
    )


if __name__ == "__main__":
    main()
