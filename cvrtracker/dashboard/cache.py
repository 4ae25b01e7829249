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

import hashlib
from collections.abc import Callable
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


def cached_encrypted(
    *, connection: SellerConnection, kind: str, name: str, compute: Callable[[], Any], timeout: int
) -> Any:
    """compute()'s JSON value, from the cache when an entry of this exact name is there.

    `name` must say everything the value depends on (connection, marketplace, dates,
    a metric_blocks_stamp...); `kind` prefixes the key ("dashboard.movers")."""
    full = f"{kind}:{connection.code}:{name}"
    key = f"{kind}:" + hashlib.sha256(full.encode()).hexdigest()
    aad = full.encode()
    data_key = connection.data_key()
    blob = cache.get(key)
    if blob is not None:
        try:
            return data_key.decrypt_json(blob, aad=aad)
        except DecryptionError:
            pass  # another key or a damaged entry: compute it again
    value = compute()
    cache.set(key, data_key.encrypt_json(value, aad=aad), timeout=timeout)
    return value
