"""Score the impact verdicts against the simulator's ground truth (bench/impact_score.py
and test_score.py).

How a world is replayed (no HTTP, no sync: a full sync replay of thousands of
changes would take hours):
- metrics: the simulator's own Data Kiosk documents (salesAndTrafficTrends by ASIN
  and day, and by date) for the last `days` days, as Amazon shows them on the
  simulator's today (units of the last 30 days not yet revised, traffic of the last
  3 days pending), parsed and stored by the tracker's real parser and ingest
  services (listings/tests/sim_metrics.py);
- observed changes: created as the hourly listings sweep would record them, through
  the real `listing_changes_store`. A content change is recorded by the first sweep
  after the detail page (catalog) shows it, which is what the snapshot diff compares
  (listings/edits.py), so `seen_after` = that sweep − 1 h and `seen_at` = the sweep;
  an edit that never reaches the catalog records nothing. Price, status, issue and
  stock (quantity to or from zero) changes: the first sweep after they happen. The
  estimator never sees the truth's multiplier, effectiveDate or catalogAt; the sweep
  times are derived from catalogAt only as the sweep would observe them;
- derived changes (stock-outs, Buy Box): the real `listing_changes_derive` on the
  stored metrics (the connection is dated before the window, so no price change is
  inferred: the observed ones cover it);
- impacts: the real `impact_refresh`, read back through `impact_for_changes`.

One bundle (a product's changes of one day) is one scored unit; its true effect is
the product of its changes' multipliers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from scipy import stats as sps

from cvrtracker.accounts.models import Team
from cvrtracker.amazon.marketplaces import marketplace_day
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.impact.selectors import impact_for_changes
from cvrtracker.impact.services import impact_refresh
from cvrtracker.impact.types import IMPROVED, NO_CLEAR_EFFECT, NOT_ENOUGH_DATA, WORSENED, Impact
from cvrtracker.listings.changes import NewChange, listing_changes_store
from cvrtracker.listings.inference import listing_changes_derive
from cvrtracker.listings.models import ListingChange
from cvrtracker.listings.tests.sim_metrics import store_history
from cvrtracker.simulator.world import World, is_suppressing

Field = ListingChange.Field
SWEEP = timedelta(hours=1)
CONTENT = {"title", "description"}


@dataclass(frozen=True)
class Scored:
    asin: str
    day: date
    multiplier: float
    impact: Impact
    sessions_per_day: float
    oracle_power: float


@dataclass
class Score:
    seed: int
    changes: list[Scored]
    replay_seconds: float
    refresh_seconds: float
    unseen: int  # edits that never reached the catalog: nothing recorded, not scored

    def final(self) -> list[Scored]:
        return [s for s in self.changes if s.impact.final and s.impact.lift_low is not None]


def _sweep_after(moment: datetime, phase_minutes: int) -> datetime:
    """The first hourly sweep (at :phase) after `moment`."""
    base = moment.replace(minute=phase_minutes, second=0, microsecond=0)
    while base <= moment:
        base += SWEEP
    return base


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _field_of(name: str) -> tuple[str, int | None] | None:
    kind, _, arg = name.partition(":")
    if kind in CONTENT:
        return kind, None
    if kind == "bullet":
        return Field.BULLET, int(arg) + 1
    if kind == "image":
        return (Field.MAIN_IMAGE, None) if arg == "MAIN" else (Field.IMAGE, int(arg[2:]))
    if kind == "price":
        return Field.PRICE, None
    if kind in ("quantity", "status", "issue"):
        return kind, None
    return None


def record_changes(connection: SellerConnection, world: World, *, start: date) -> tuple[dict, int]:
    """Store the observed changes of seller 0's first marketplace since `start` as the
    sweep would; returns ({change key: truth row}, edits never shown)."""
    seller = world.sellers[0]
    market = seller.home
    phase = world.seed % 60
    truth_by_key: dict[str, dict] = {}
    new: list[NewChange] = []
    unseen = 0
    for row in world.ground_truth(seller, market):
        mapped = _field_of(row["field"])
        if mapped is None:
            continue
        name, position = mapped
        at = _parse(row["at"])
        if name in (*CONTENT, Field.BULLET, Field.MAIN_IMAGE, Field.IMAGE):
            if not row["reachesCatalog"] or row["catalogAt"] is None:
                unseen += marketplace_day(market.id, at) >= start
                continue
            shown = _parse(row["catalogAt"])
        else:
            shown = at
        seen_at = _sweep_after(shown, phase)
        if seen_at > world.clock.now() or marketplace_day(market.id, seen_at) < start:
            continue
        payload: dict = {"action": "edited", "before": None, "after": None}
        if name == "quantity":
            old, value = row["old"] or 0, row["new"] or 0
            if (old > 0) == (value > 0):
                continue
            name = Field.FBA_STOCK
            payload = {"action": "out_of_stock" if value == 0 else "back_in_stock"}
        elif name == "status":
            payload = {"action": "changed", "before": row["old"], "after": row["new"]}
        elif name == "issue":
            issue = row["new"] or row["old"]
            payload = {
                "action": "appeared" if row["new"] else "cleared",
                "suppresses": is_suppressing(issue),
            }
        elif name == Field.PRICE:
            payload = {"action": "changed", "before": row["old"], "after": row["new"]}
        key = f"score:{row['sku']}:{row['field']}:{row['at']}"
        truth_by_key[key] = row
        new.append(
            NewChange(
                key=key,
                field=name,
                source=ListingChange.Source.OBSERVED,
                marketplace_id=market.id,
                day=marketplace_day(market.id, seen_at),
                seen_at=seen_at,
                seen_after=seen_at - SWEEP,
                payload=payload,
                position=position,
                asin=row["asin"],
                sku=row["sku"],
            )
        )
    listing_changes_store(connection=connection, changes=new)
    return truth_by_key, unseen


def replay_and_score(
    *, seed: int, asins: int, change_rate: float, days: int, today: date, cvr_noise: float | None
) -> Score:
    """Build the world, replay `days` days of it into a new connection, measure every
    change and match each impact with the truth."""
    import time

    world = World(
        seed=seed,
        sellers=1,
        asins=asins,
        today=today,
        marketplaces=1,
        change_rate=change_rate,
        cvr_noise=cvr_noise,
    )
    seller = world.sellers[0]
    market = seller.home
    as_of = world.today(market)
    start = as_of - timedelta(days=days)
    team = Team.objects.create(name=f"score {seed}")
    connection = SellerConnection(
        team=team, region="NA", selling_partner_id=f"ASCORE{seed}", marketplaces=[]
    )
    connection.create_data_key()
    connection.save()
    # Tracking began before the window: no price change is inferred inside it.
    SellerConnection.objects.filter(pk=connection.pk).update(
        created_at=datetime.combine(start - timedelta(days=1), datetime.min.time()).replace(
            tzinfo=world.clock.now().tzinfo
        )
    )
    connection.refresh_from_db()
    began = time.monotonic()
    store_history(connection, world, as_of=as_of, start=start)
    truth_by_key, unseen = record_changes(connection, world, start=start)
    listing_changes_derive(connection=connection, marketplace_id=market.id)
    replayed = time.monotonic() - began
    from cvrtracker.lib import clock

    with clock.following(world.clock.now):
        result = impact_refresh(connection=connection, marketplace_id=market.id)
    rows = list(
        ListingChange.objects.filter(connection=connection, key__in=list(truth_by_key)).order_by(
            "day"
        )
    )
    impacts = impact_for_changes(connection=connection, changes=rows)
    kappa_true = math.exp(world.cvr_noise**2) - 1
    bundles: dict[tuple[str, date], list[ListingChange]] = {}
    for row in rows:
        if row.pk in impacts:
            bundles.setdefault((row.asin, row.day), []).append(row)
    scored = []
    for (asin, day), group in bundles.items():
        impact = impacts[group[0].pk]
        multiplier = math.prod(truth_by_key[r.key]["conversionMultiplier"] for r in group)
        before = impact.before
        per_day = before.sessions / before.days if before and before.days else 0.0
        scored.append(
            Scored(
                asin,
                day,
                multiplier,
                impact,
                per_day,
                oracle_power(multiplier, impact, kappa_true),
            )
        )
    return Score(seed, scored, replayed, result.seconds, unseen)


def oracle_power(multiplier: float, impact: Impact, kappa: float) -> float:
    """The power of a test that knows the product's base rate, the account factor and
    the noise variance, on the same after days: δ̂ = ln(Y_after ÷ expected), variance
    (1 + κ μ) ÷ (k μ) with μ the after window's units a day (two-sided 5%)."""
    after = impact.after
    if after is None or after.days == 0 or after.units == 0 or multiplier == 1:
        return 0.0
    mu = after.units / after.days
    se = math.sqrt((1 + kappa * mu) / (after.days * mu))
    z = abs(math.log(multiplier)) / se
    return float(sps.norm.cdf(z - 1.96) + sps.norm.cdf(-z - 1.96))


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (0.0, 1.0)
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Rate:
    hits: int
    n: int

    @property
    def value(self) -> float:
        return self.hits / self.n if self.n else float("nan")

    def text(self) -> str:
        low, high = wilson(self.hits, self.n)
        return f"{self.value * 100:5.1f}% [{low * 100:.1f}, {high * 100:.1f}] (n={self.n})"


def _sign(verdict: str) -> int:
    return {IMPROVED: 1, WORSENED: -1}.get(verdict, 0)


def metrics(changes: list[Scored]) -> dict[str, object]:
    """Coverage, false alarms, wrong signs, detection (ours and the oracle's)."""
    final = [s for s in changes if s.impact.final and s.impact.lift_low is not None]
    covered = sum(
        1
        for s in final
        if math.log1p(s.impact.lift_low) <= math.log(s.multiplier) <= math.log1p(s.impact.lift_high)
    )
    nulls = [s for s in changes if abs(s.multiplier - 1) < 1e-9]
    alarms = sum(1 for s in nulls if _sign(s.impact.verdict) != 0)
    effects = [s for s in changes if abs(s.multiplier - 1) >= 1e-9]
    wrong = sum(
        1
        for s in effects
        if _sign(s.impact.verdict) != 0
        and _sign(s.impact.verdict) != (1 if s.multiplier > 1 else -1)
    )
    busy = [s for s in final if abs(s.multiplier - 1) >= 0.10 - 1e-9 and s.sessions_per_day >= 100]
    detected = sum(1 for s in busy if _sign(s.impact.verdict) == (1 if s.multiplier > 1 else -1))
    oracle = sum(s.oracle_power for s in busy) / len(busy) if busy else float("nan")
    verdicts = {v: sum(1 for s in changes if s.impact.verdict == v) for v in
                (IMPROVED, WORSENED, NO_CLEAR_EFFECT, NOT_ENOUGH_DATA)}  # fmt: skip
    return {
        "coverage": Rate(covered, len(final)),
        "false_alarms": Rate(alarms, len(nulls)),
        "wrong_sign": Rate(wrong, len(effects)),
        "detected": Rate(detected, len(busy)),
        "oracle": oracle,
        "verdicts": verdicts,
        "scored": len(changes),
        "final": len(final),
    }
