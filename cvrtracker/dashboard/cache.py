"""Figures derived from the metric blocks, kept in Django's cache until a sync rewrites
one of the blocks they were read from.

Reading a month block means fetching and decrypting all of its shard (hundreds of
ASINs x 31 days), so pages that read many of them (the overview's movers, a product's
two years) keep what they derived. Two rules:
- the cache key names the state of the blocks read (`metric_blocks_stamp`: their
  count, the sum of their versions and their last update), so a sync that stores a
  day, or only dates one, makes a new key and the old entry is never read again;
- the value is encrypted with the connection's data key, with the full name as AAD,
  like every Amazon figure at rest (the cache may be Redis, shared by processes).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Hashable
from datetime import date
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Max, Q, Sum

from cvrtracker.amazon.models import SellerConnection
from cvrtracker.lib.crypto import DecryptionError
from cvrtracker.metrics.blocks import shard_of
from cvrtracker.metrics.models import MetricBlock

Granularity = MetricBlock.Granularity


def metric_blocks_stamp(
    *,
    connection: SellerConnection,
    marketplace_id: str,
    start: date,
    end: date,
    asin: str | None = None,
) -> str:
    """The state of the blocks of the months of [start, end], read without decrypting:
    every ASIN shard, or with `asin` its shard and the account blocks (a product's
    series takes its pending days from them). Any write changes it: storing values
    bumps a block's version, dating a day bumps its updated_at, a new month adds one."""
    blocks = MetricBlock.objects.filter(
        connection=connection,
        marketplace_id=marketplace_id,
        month__gte=start.replace(day=1),
        month__lte=end,
    )
    if asin is None:
        blocks = blocks.filter(granularity=Granularity.ASIN)
    else:
        blocks = blocks.filter(
            Q(granularity=Granularity.ASIN, shard=shard_of(asin))
            | Q(granularity=Granularity.ACCOUNT)
        )
    found = blocks.aggregate(n=Count("pk"), versions=Sum("version"), updated=Max("updated_at"))
    updated = found["updated"].isoformat() if found["updated"] else ""
    return f"{found['n']}:{found['versions'] or 0}:{updated}"


def metric_blocks_stamps_by_month(
    *, connection: SellerConnection, marketplace_id: str, start: date, end: date, asin: str
) -> dict[date, str]:
    """Per month of [start, end] with blocks: the state of the ASIN's shard block and of
    the account block (its pending days), as metric_blocks_stamp says it for a range."""
    blocks = (
        MetricBlock.objects.filter(
            Q(granularity=Granularity.ASIN, shard=shard_of(asin))
            | Q(granularity=Granularity.ACCOUNT),
            connection=connection,
            marketplace_id=marketplace_id,
            month__gte=start.replace(day=1),
            month__lte=end,
        )
        .order_by("month", "granularity")
        .values_list("month", "granularity", "version", "updated_at")
    )
    stamps: dict[date, str] = {}
    for month, granularity, version, updated in blocks:
        part = f"{granularity}:{version}:{updated.isoformat()}"
        stamps[month] = f"{stamps[month]},{part}" if month in stamps else part
    return stamps


def cached_encrypted_many(
    *,
    connection: SellerConnection,
    kind: str,
    names: dict[Hashable, str],
    compute: Callable[[list[Hashable]], dict[Hashable, Any]],
    timeout: int,
) -> dict[Hashable, Any]:
    """For each item of `names` ({item: name}), its JSON value: from the cache where an
    entry of that exact name is there, else from one compute(missing items) call.

    A name must say everything its value depends on (connection, marketplace, dates, a
    block stamp...); `kind` prefixes the keys ("dashboard.movers")."""
    data_key = connection.data_key()
    full = {item: f"{kind}:{connection.code}:{name}" for item, name in names.items()}
    keys = {item: f"{kind}:" + hashlib.sha256(f.encode()).hexdigest() for item, f in full.items()}
    blobs = cache.get_many(list(keys.values()))
    found: dict[Hashable, Any] = {}
    for item, key in keys.items():
        # Another key or a damaged entry is computed again.
        with contextlib.suppress(DecryptionError):
            if key in blobs:
                found[item] = data_key.decrypt_json(blobs[key], aad=full[item].encode())
    missing = [item for item in names if item not in found]
    if missing:
        computed = compute(missing)
        cache.set_many(
            {
                keys[item]: data_key.encrypt_json(computed[item], aad=full[item].encode())
                for item in missing
            },
            timeout=timeout,
        )
        found.update((item, computed[item]) for item in missing)
    return found


def cached_encrypted(
    *, connection: SellerConnection, kind: str, name: str, compute: Callable[[], Any], timeout: int
) -> Any:
    """compute()'s JSON value, from the cache when an entry of this exact name is there
    (cached_encrypted_many for one value)."""
    return cached_encrypted_many(
        connection=connection,
        kind=kind,
        names={None: name},
        compute=lambda _missing: {None: compute()},
        timeout=timeout,
    )[None]
