"""Store Sales & Traffic reports in encrypted metric blocks.

Every service validates its whole input before the first write and runs in one
transaction, so a malformed report or a crash leaves the blocks as they were,
and running it again leaves the same values (idempotent).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, timedelta

import numpy as np
from django.db import IntegrityError, transaction
from django.db import connection as db
from django.db.models import QuerySet

from cvrtracker.amazon.models import SellerConnection
from cvrtracker.lib import clock
from cvrtracker.lib.collect import memory_bounded_now, memory_release

from .blocks import (
    I32,
    I64,
    N_INT,
    PENDING,
    BlockData,
    DayColumn,
    percent_to_hundredths,
    shard_of,
)
from .datakiosk import TrendRow
from .keys import ConnectionKeys
from .models import MetricBlock, MetricRangeTotals
from .report import (
    AsinRow,
    DateRow,
    ReportFormatError,
    SalesTrafficReport,
    is_pending,
    parse_sales_traffic,
)
from .signals import metrics_days_stored

Granularity = MetricBlock.Granularity
ReportInput = SalesTrafficReport | bytes | dict


def metrics_ingest_day(
    *, connection: SellerConnection, marketplace_id: str, day: date, report: ReportInput
) -> int:
    """Store a one-day CHILD report as that day's column for every ASIN; returns the ASIN rows.

    The report's by-date row also refreshes the account series for that day. A
    re-pulled day replaces the earlier pull entirely (Amazon restates).
    """
    return metrics_ingest_days(
        connection=connection, marketplace_id=marketplace_id, reports={day: report}
    )


def metrics_ingest_days(
    *,
    connection: SellerConnection,
    marketplace_id: str,
    reports: Mapping[date, ReportInput],
) -> int:
    """Several one-day reports at once (a trailing window): each month block is written once.

    Returns the number of ASIN rows stored.
    """
    parsed = {day: _one_day_report(day, r, marketplace_id) for day, r in reports.items()}
    asin_columns: dict[date, DayColumn] = {}
    account_columns: dict[date, DayColumn] = {}
    for day, report in parsed.items():
        asin_columns[day] = _asin_column(report.by_asin, pending=report.pending)
        row = next((r for r in report.by_date if r.day == day), None)
        account_columns[day] = _account_column(row, pending=report.pending)
    currency = next((r.currency for r in parsed.values() if r.currency), "")
    keys = ConnectionKeys(connection)
    with transaction.atomic():
        _write(keys, connection, marketplace_id, Granularity.ASIN, asin_columns, currency)
        _write(keys, connection, marketplace_id, Granularity.ACCOUNT, account_columns, currency)
        metrics_days_stored.send(
            sender=MetricBlock,
            connection=connection,
            marketplace_id=marketplace_id,
            days=sorted(asin_columns),
        )
    return sum(len(c.keys) for c in asin_columns.values())


def metrics_ingest_account_series(
    *, connection: SellerConnection, marketplace_id: str, report: ReportInput
) -> int:
    """Store the by-date section of a DAY report over any range as the account series.

    The by-ASIN section of such a report is aggregated over the whole range and is
    ignored: per-ASIN days come from one-day reports. Returns the days stored.
    """
    report = _parsed(report)
    if report.date_granularity != "DAY":
        raise ReportFormatError(f"expected a DAY report, got {report.date_granularity}")
    _check_marketplace(report, marketplace_id)
    columns: dict[date, DayColumn] = {}
    for row in report.by_date:
        if row.day in columns:
            raise ReportFormatError(f"salesAndTrafficByDate has {row.day} twice")
        columns[row.day] = _account_column(row, pending=row.pending)
    keys = ConnectionKeys(connection)
    with transaction.atomic():
        _write(keys, connection, marketplace_id, Granularity.ACCOUNT, columns, report.currency)
    return len(columns)


def metrics_merge_asin_days(
    *,
    connection: SellerConnection,
    marketplace_id: str,
    asins: Sequence[str],
    start: date,
    end: date,
    rows: Sequence[TrendRow],
    currency: str,
) -> int:
    """Store a Data Kiosk trends answer: these ASINs' days in [start, end], nobody else's.

    Unlike a one-day report, a trends query carries ≤30 ASINs, so each day's column is
    merged (blocks.merge_days): the queried ASINs' cells are set (cleared on days they
    have no row: Amazon leaves out ASINs without activity) and every other ASIN keeps
    its values. All months in one transaction; running it twice stores the same blocks.
    A day is pending as on the report path: the account's day is pending (sales but no
    sessions yet), or the chunk's own rows have sales and no sessions. Returns the rows.
    """
    by_day: dict[date, list[AsinRow]] = defaultdict(list)
    for trend in rows:
        if not start <= trend.day <= end:
            raise ReportFormatError(f"a row of {trend.day} is outside {start}..{end}")
        by_day[trend.day].append(trend.row)
    keys = ConnectionKeys(connection)
    account_pending = _account_pending_days(keys, connection, marketplace_id, start, end)
    columns: dict[date, DayColumn] = {}
    day = start
    while day <= end:
        day_rows = by_day.get(day, [])
        pending = day in account_pending or is_pending(
            units=sum(r.units_ordered for r in day_rows),
            sessions=sum(r.sessions for r in day_rows),
        )
        columns[day] = _asin_column(day_rows, pending=pending)
        day += timedelta(days=1)
    with transaction.atomic():
        _write(keys, connection, marketplace_id, Granularity.ASIN, columns, currency, owned=asins)
        metrics_days_stored.send(
            sender=MetricBlock,
            connection=connection,
            marketplace_id=marketplace_id,
            days=sorted(columns),
        )
    return len(rows)


def metrics_ingest_account_days(
    *,
    connection: SellerConnection,
    marketplace_id: str,
    start: date,
    end: date,
    rows: Sequence[DateRow],
    currency: str,
) -> int:
    """Store a Data Kiosk by-date answer as the account's days in [start, end].

    A day without a row had no activity (Amazon returns only days with data).
    Returns the days stored.
    """
    by_day = {row.day: row for row in rows}
    if len(by_day) != len(rows):
        raise ReportFormatError("the by-date answer has a day twice")
    columns: dict[date, DayColumn] = {}
    day = start
    while day <= end:
        row = by_day.get(day)
        columns[day] = _account_column(row, pending=bool(row and row.pending))
        day += timedelta(days=1)
    keys = ConnectionKeys(connection)
    with transaction.atomic():
        _write(keys, connection, marketplace_id, Granularity.ACCOUNT, columns, currency)
    return len(columns)


def _account_pending_days(
    keys: ConnectionKeys, connection: SellerConnection, marketplace_id: str, start: date, end: date
) -> set[date]:
    """Days of [start, end] whose stored account row is pending (traffic not arrived)."""
    found = set()
    blocks = MetricBlock.objects.filter(
        connection=connection,
        marketplace_id=marketplace_id,
        granularity=Granularity.ACCOUNT,
        month__gte=month_of(start),
        month__lte=end,
    )
    for block in blocks:
        data = block_data(block, keys)
        if not data.keys:
            continue
        for i, flag in enumerate(data.flags[0].tolist()):
            if flag & PENDING and start <= block.day(i) <= end:
                found.add(block.day(i))
    return found


def metrics_store_range_totals(
    *,
    connection: SellerConnection,
    marketplace_id: str,
    start: date,
    end: date,
    report: SalesTrafficReport | bytes | dict,
) -> MetricRangeTotals:
    """Store a CHILD report over [start, end] as the marketplace's range totals, replacing
    the ones stored before. The whole report is checked before the write (a report of
    another range, granularity or marketplace raises ReportFormatError); idempotent."""
    if not isinstance(report, SalesTrafficReport):
        report = parse_sales_traffic(report)
    if (report.start, report.end) != (start, end):
        raise ReportFormatError(f"expected a report of {start}..{end}, got {report.start}..")
    if report.asin_granularity != "CHILD":
        raise ReportFormatError(f"expected a CHILD report, got {report.asin_granularity}")
    _check_marketplace(report, marketplace_id)
    days = {row.day for row in report.by_date}
    if len(days) != len(report.by_date) or any(not start <= d <= end for d in days):
        raise ReportFormatError("salesAndTrafficByDate has a day twice or outside the range")
    pending_days = sum(1 for row in report.by_date if row.pending)
    # One column holding the whole range; an ASIN with sales and no sessions at all is
    # flagged pending on its own, as on the daily path.
    column = _asin_column(report.by_asin, pending=False)
    data = BlockData.empty(n_days=1)
    data.put_days([(0, column)], currency=report.currency or "")
    keys = ConnectionKeys(connection)
    with transaction.atomic():
        totals, _ = MetricRangeTotals.objects.select_for_update().get_or_create(
            connection=connection,
            marketplace_id=marketplace_id,
            defaults={"start": start, "end": end, "fetched_at": clock.now()},
        )
        totals.start, totals.end, totals.fetched_at = start, end, clock.now()
        totals.pending_days = pending_days
        totals.rows = [[k, p] for k, p in zip(data.keys, data.parents, strict=True)]
        totals.values_enc = keys.data.encrypt(
            data.encode(), aad=totals.values_aad(keys.connection_code)
        )
        totals.save()
    return totals


# -- validation and columns -----------------------------------------------------------


def _parsed(report: ReportInput) -> SalesTrafficReport:
    return report if isinstance(report, SalesTrafficReport) else parse_sales_traffic(report)


def _check_marketplace(report: SalesTrafficReport, marketplace_id: str) -> None:
    if report.marketplace_ids and marketplace_id not in report.marketplace_ids:
        raise ReportFormatError(
            f"the report is for {', '.join(report.marketplace_ids)}, not {marketplace_id}"
        )


def _one_day_report(day: date, report: ReportInput, marketplace_id: str) -> SalesTrafficReport:
    report = _parsed(report)
    # The by-ASIN section covers the whole requested range, so only a report of
    # exactly this day can become this day's column.
    if report.start != day or report.end != day:
        raise ReportFormatError(f"expected a report of {day}, got {report.start}..{report.end}")
    if report.asin_granularity != "CHILD":
        raise ReportFormatError(f"expected a CHILD report, got {report.asin_granularity}")
    _check_marketplace(report, marketplace_id)
    return report


def _asin_column(rows: Iterable[AsinRow], *, pending: bool) -> DayColumn:
    by_asin: dict[str, list[AsinRow]] = defaultdict(list)
    for row in rows:
        by_asin[row.asin].append(row)
    merged = [group[0] if len(group) == 1 else _merge(group) for group in by_asin.values()]
    return DayColumn(
        keys=[r.asin for r in merged],
        parents=[r.parent_asin for r in merged],
        ints=np.array(
            [
                [r.sessions for r in merged],
                [r.page_views for r in merged],
                [r.units_ordered for r in merged],
                [r.total_order_items for r in merged],
                percent_to_hundredths([r.buy_box_percentage for r in merged]),
                percent_to_hundredths([r.unit_session_percentage for r in merged]),
            ],
            dtype=I32,
        ).reshape(N_INT, len(merged)),
        sales=np.array([r.ordered_product_sales.amount_minor for r in merged], dtype=I64),
        # A day whose traffic has not arrived is pending for every ASIN; on a settled
        # day an ASIN with sales and no sessions is pending on its own.
        pending=np.array(
            [pending or (r.units_ordered > 0 and r.sessions == 0) for r in merged], dtype=bool
        ),
    )


def _merge(group: list[AsinRow]) -> AsinRow:
    """One row for a child ASIN listed more than once (under two parents, say)."""
    sessions = sum(r.sessions for r in group)
    views = sum(r.page_views for r in group)
    units = sum(r.units_ordered for r in group)
    first = group[0]
    return AsinRow(
        parent_asin=first.parent_asin,
        child_asin=first.child_asin,
        sku=None,
        sessions=sessions,
        page_views=views,
        units_ordered=units,
        total_order_items=sum(r.total_order_items for r in group),
        ordered_product_sales=type(first.ordered_product_sales)(
            sum(r.ordered_product_sales.amount_minor for r in group),
            first.ordered_product_sales.currency,
        ),
        buy_box_percentage=(
            sum(r.buy_box_percentage * r.page_views for r in group) / views if views else 0.0
        ),
        unit_session_percentage=round(100.0 * units / sessions, 2) if sessions else 0.0,
    )


def _account_column(row: DateRow | None, *, pending: bool) -> DayColumn:
    """The account's day; a fetched day without a by-date row is a day without activity."""
    key = [MetricBlock.ACCOUNT_KEY]
    if row is None:
        return DayColumn(
            keys=key,
            parents=key,
            ints=np.zeros((N_INT, 1), I32),
            sales=np.zeros(1, I64),
            pending=np.array([pending]),
        )
    ints = [
        row.sessions,
        row.page_views,
        row.units_ordered,
        row.total_order_items,
        *percent_to_hundredths([row.buy_box_percentage, row.unit_session_percentage]),
    ]
    return DayColumn(
        keys=key,
        parents=key,
        ints=np.array(ints, dtype=I32).reshape(N_INT, 1),
        sales=np.array([row.ordered_product_sales.amount_minor], dtype=I64),
        pending=np.array([pending or row.pending]),
    )


# -- blocks -----------------------------------------------------------------------------


def month_of(day: date) -> date:
    return day.replace(day=1)


def _write(
    keys: ConnectionKeys,
    connection: SellerConnection,
    marketplace_id: str,
    granularity: str,
    columns: Mapping[date, DayColumn],
    currency: str | None,
    *,
    owned: Sequence[str] | None = None,
) -> None:
    """Write day columns into their month blocks; with `owned`, merge (see merge_days)
    instead of replacing the whole day."""
    owned_by_shard: dict[int, list[str]] = defaultdict(list)
    for asin in owned or ():
        owned_by_shard[shard_of(asin)].append(asin)
    by_block: dict[tuple[date, int], list[tuple[int, DayColumn]]] = defaultdict(list)
    for day, column in columns.items():
        # Every shard of the month is written, empty or not: a re-pulled day must
        # clear rows from every shard, and each shard's `fetched` tells the same story.
        parts = column.by_shard() if granularity == Granularity.ASIN else [column]
        for shard, part in enumerate(parts):
            by_block[(month_of(day), shard)].append((day.day - 1, part))
    fetched_at = clock.now().isoformat()
    # Blocks in ascending (month, shard) order, account blocks after ASIN blocks:
    # every writer takes row locks in the same order, so two syncs of one seller
    # never deadlock.
    for (month, shard), day_columns in sorted(by_block.items(), key=lambda item: item[0]):
        block = _locked_block(connection, marketplace_id, granularity, month, shard)
        fetched = list(block.fetched) or [None] * block.n_days
        for day_index, _ in day_columns:
            fetched[day_index] = fetched_at
        if owned is not None and not owned_by_shard.get(shard) and block.values_enc:
            # A merge that touches none of this shard's rows only dates the days.
            block.fetched = fetched
            block.save(update_fields=["fetched", "updated_at"])
            continue
        data = block_data(block, keys)
        # The ciphertext is not needed any more: let it go before the new one is made.
        block.values_enc = b""
        if owned is None:
            data.put_days(day_columns, currency=currency or "")
        else:
            data.merge_days(day_columns, owned=owned_by_shard[shard], currency=currency or "")
        block.rows = [[k, p] for k, p in zip(data.keys, data.parents, strict=True)]
        block.fetched = fetched
        plain = data.encode()
        del data
        block.values_enc = keys.data.encrypt(plain, aad=block.values_aad(keys.connection_code))
        del plain
        block.version += 1
        block.save(update_fields=["rows", "fetched", "values_enc", "version", "updated_at"])


def _locked_block(
    connection: SellerConnection, marketplace_id: str, granularity: str, month: date, shard: int
) -> MetricBlock:
    """The block row, created if missing, locked until the transaction ends.

    Concurrent writers of one block (the daily re-pull and a backfill job) queue on
    the row lock instead of overwriting each other's days.
    """
    key = {
        "connection": connection,
        "marketplace_id": marketplace_id,
        "granularity": granularity,
        "month": month,
        "shard": shard,
    }
    block = MetricBlock.objects.select_for_update().filter(**key).first()
    if block is not None:
        return block
    try:
        with transaction.atomic():
            # Empty: _write fills `fetched` (one slot per day) and the values in this transaction.
            return MetricBlock.objects.create(**key)
    except IntegrityError:
        # Another writer created it first; wait for its lock.
        return MetricBlock.objects.select_for_update().get(**key)


# Piece size when a block's ciphertext is read in pieces (blocks_one_at_a_time with keys
# and release): the driver's buffer grows to the largest row it receives, so this, not
# the 3 MB block, is what it holds.
PIECE_BYTES = 256 * 1024


def blocks_one_at_a_time(
    blocks: QuerySet[MetricBlock],
    *,
    keys: ConnectionKeys | None = None,
    release: bool | None = None,
) -> Iterator[MetricBlock]:
    """The blocks of `blocks`, in its order, holding one at a time in memory.

    On PostgreSQL one query streams them row by row in the binary format: in the text
    format bytea travels as hex, twice its size, and the driver holds both, so a
    50,000-ASIN seller's 3 MB block takes ~9 MB of memory to read instead of ~20 MB,
    and no block waits in a buffer while another is summed. Elsewhere, a chunked
    iterator. The blocks carry what readers use: ids, month, shard, rows, fetched and
    values_enc (and the filter's connection, marketplace and granularity).

    With `release`, the C heap's freed pages go back to the system between blocks
    (memory_release): for a large export, bounded by memory. Not for pages: the next
    block's buffers then fault their pages in again, ~0.4 ms a block (a two-year
    product series read 24 blocks 10 ms slower). Without `release`, only inside
    lib.collect.memory_bounded() (a download that reads through a page's selectors).

    With `release` and `keys` on PostgreSQL, each block's ciphertext streams in pieces
    of PIECE_BYTES and is decrypted as they arrive (lib.crypto.StreamOpener, the tag
    checked before anything is handed out): the ciphertext is never whole in memory,
    and the block comes with `plaintext` set and `values_enc` empty (block_data reads
    `plaintext`). A 3 MB block then costs its plaintext and one piece instead of the
    driver's copy, the ciphertext and the plaintext.

    While the stream runs the database connection is busy: a caller must not query
    inside its loop, and must run the loop to its end (or close the generator)."""
    if release is None:
        release = memory_bounded_now()
    if db.vendor != "postgresql":
        yield from blocks.iterator(chunk_size=1)
        return
    if release and keys is not None:
        yield from _blocks_in_pieces(blocks, keys)
        return
    import psycopg

    fields = ("id", "connection_id", "marketplace_id", "granularity", "month", "shard")
    sql, params = blocks.values_list(
        *fields, "rows", "fetched", "values_enc", "version"
    ).query.sql_with_params()
    db.ensure_connection()
    with psycopg.Cursor(db.connection) as cursor:
        for *values, rows, fetched, values_enc, version in cursor.stream(sql, params, binary=True):
            # The row is copied into Python objects: free libpq's copy of it now (a
            # second 3 MB per block) rather than when the next row arrives.
            if cursor.pgresult is not None:
                cursor.pgresult.clear()
            block = MetricBlock(**dict(zip(fields, values, strict=True)), version=version)
            # jsonb comes back decoded, bytea as bytes.
            block.rows, block.fetched, block.values_enc = rows, fetched, bytes(values_enc)
            del values, rows, fetched, values_enc
            yield block
            # Let go of this block before the next one streams in: held across the
            # next fetch, two blocks would be in memory at once.
            del block
            if release:
                memory_release()


def _blocks_in_pieces(blocks: QuerySet[MetricBlock], keys: ConnectionKeys) -> Iterator[MetricBlock]:
    """blocks_one_at_a_time's read in pieces: the blocks' ids in order first (a small
    query), then one streamed query of (block, piece) rows in that order, the block's
    columns on its first piece only."""
    import psycopg

    ids = list(blocks.values_list("id", flat=True))
    if not ids:
        return
    fields = ("id", "connection_id", "marketplace_id", "granularity", "month", "shard")
    table = MetricBlock._meta.db_table
    columns = ", ".join(f"b.{db.ops.quote_name(f)}" for f in fields)
    # Identifiers from the model, values as parameters.
    sql = f"""
        SELECT {columns},
               CASE WHEN g.i = 0 THEN b.rows END,
               CASE WHEN g.i = 0 THEN b.fetched END,
               b.version,
               coalesce(octet_length(b.values_enc), 0),
               substring(b.values_enc FROM g.i * %(piece)s + 1 FOR %(piece)s)
        FROM unnest(%(ids)s::bigint[]) WITH ORDINALITY AS o(id, n)
        JOIN {db.ops.quote_name(table)} b ON b.id = o.id
        CROSS JOIN LATERAL generate_series(
            0, greatest((coalesce(octet_length(b.values_enc), 0) - 1) / %(piece)s, 0)
        ) AS g(i)
        ORDER BY o.n, g.i"""  # noqa: S608
    db.ensure_connection()
    block, opener = None, None
    with psycopg.Cursor(db.connection) as cursor:
        stream = cursor.stream(sql, {"ids": ids, "piece": PIECE_BYTES}, binary=True)
        for *values, rows, fetched, version, size, piece in stream:
            if cursor.pgresult is not None:
                cursor.pgresult.clear()
            if block is None or values[0] != block.id:
                if block is not None:
                    yield _opened(block, opener)
                    # The last block's plaintext goes before the next one's is allocated.
                    block, opener = None, None
                    memory_release()
                block = MetricBlock(**dict(zip(fields, values, strict=True)), version=version)
                block.rows, block.fetched, block.values_enc = rows, fetched, b""
                aad = block.values_aad(keys.connection_code)
                opener = keys.data.opener(size=size, aad=aad) if size else None
            if opener is not None and piece:
                opener.feed(piece)
            del values, piece, rows, fetched
        if block is not None:
            yield _opened(block, opener)
            block, opener = None, None
            memory_release()


def _opened(block: MetricBlock, opener) -> MetricBlock:
    """The block with its verified plaintext (None for a block without values)."""
    block.plaintext = opener.finish() if opener is not None else None
    return block


def block_data(block: MetricBlock, keys: ConnectionKeys) -> BlockData:
    """The decrypted arrays of a block (empty for a new one)."""
    rows = block.rows or []
    # Decrypted while it streamed in (blocks_one_at_a_time's read in pieces).
    raw = getattr(block, "plaintext", None)
    if raw is None:
        if not block.values_enc:
            return BlockData.empty(n_days=block.n_days)
        raw = keys.data.decrypt(bytes(block.values_enc), aad=block.values_aad(keys.connection_code))
    return BlockData.decode(raw, keys=[r[0] for r in rows], parents=[r[1] for r in rows])
