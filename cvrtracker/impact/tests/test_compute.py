"""Windows, shortening, bundles, pending days, the control and verdicts of compute.py,
on constructed catalogues (no database)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import numpy as np
import pytest

from cvrtracker.impact import compute
from cvrtracker.impact.compute import Catalogue, Event, ProductRows, measure, plan_windows
from cvrtracker.impact.types import IMPROVED, NO_CLEAR_EFFECT, NOT_ENOUGH_DATA, WORSENED

D0 = date(2026, 1, 1)
DAYS = 150
CHANGE = D0 + timedelta(days=100)


def day(i: int) -> date:
    return D0 + timedelta(days=i)


def event(asin="A", first=CHANGE, last=None, ids=(1,), fields=("title",), measured=True):
    return Event(asin, first, last or first, ids, fields, measured)


def build(
    *,
    products: int = 20,
    sessions: float = 400.0,
    cvr: float = 0.1,
    own: np.ndarray | None = None,
    account: np.ndarray | None = None,
    as_of: int = DAYS - 1,
    rows: dict | None = None,
    kappa: float = 0.02,
    seed: int = 1,
) -> Catalogue:
    """A catalogue of `products` other products plus product "A" with conversion
    cvr × own[t] × account[t]; units Poisson (seeded), days after `as_of` pending."""
    rng = np.random.default_rng(seed)
    account = np.ones(DAYS) if account is None else account
    own = np.ones(DAYS) if own is None else own
    clean = np.arange(DAYS) <= as_of
    n = np.full((products, DAYS), sessions)
    y = rng.poisson(n * cvr * account[None, :]).astype(float)
    y = np.where(clean, y, 0.0)
    cat = Catalogue(
        first_day=D0,
        n_days=DAYS,
        as_of=day(as_of),
        total_units=y.sum(0),
        total_sessions=np.where(clean, n, 0.0).sum(0),
        total_products=np.where(clean, products, 0).astype(float) * np.ones(DAYS),
        kappa=kappa,
    )
    an = np.full(DAYS, sessions)
    ay = np.where(clean, rng.poisson(an * cvr * own * account), 0).astype(float)
    cat.rows["A"] = ProductRows(ay, an, clean.copy())
    _add(cat, "A")
    for asin, row in (rows or {}).items():
        cat.rows[asin] = row
        _add(cat, asin)
    return cat


def _add(cat: Catalogue, asin: str) -> None:
    row = cat.rows[asin]
    cat.total_units += np.where(row.clean, row.units, 0)
    cat.total_sessions += np.where(row.clean, row.sessions, 0)
    cat.total_products += row.clean


def step(at: int, factor: float) -> np.ndarray:
    return np.where(np.arange(DAYS) > at, factor, 1.0)


# -- windows ---------------------------------------------------------------------------


def test_default_windows_leave_out_the_days_it_happened():
    e = event(first=CHANGE, last=CHANGE + timedelta(days=1))
    plan = plan_windows(e, [e], D0)
    assert plan.before_end == CHANGE - timedelta(days=1)
    assert plan.before_start == CHANGE - timedelta(days=compute.BEFORE_DAYS)
    assert plan.after_start == CHANGE + timedelta(days=2)
    assert plan.after_target == CHANGE + timedelta(days=1 + compute.AFTER_DAYS)
    assert not plan.shortened_before and not plan.shortened_after


def test_other_changes_of_the_product_shorten_the_windows():
    e = event()
    earlier = event(first=CHANGE - timedelta(days=10), ids=(2,), fields=("stock_out",))
    later = event(first=CHANGE + timedelta(days=9), ids=(3,), fields=("price",))
    far = event(first=CHANGE - timedelta(days=60), ids=(4,))
    plan = plan_windows(e, [far, earlier, e, later], D0)
    assert plan.before_start == CHANGE - timedelta(days=9)
    assert plan.after_target == CHANGE + timedelta(days=8)
    assert plan.shortened_before and plan.shortened_after
    assert plan.previous is earlier and plan.following is later


def test_the_history_start_bounds_the_before_window():
    e = event(first=D0 + timedelta(days=10))
    assert plan_windows(e, [e], D0).before_start == D0


# -- verdicts ----------------------------------------------------------------------------


def test_a_clear_lift_is_improved_with_its_interval_and_units():
    cat = build(own=step(100, 1.3))
    impact = measure(event(), {"A": [event()]}, cat, today=day(DAYS + 2))
    assert impact.verdict == IMPROVED
    assert impact.final and impact.trend_adjusted and not impact.shortened
    assert impact.lift_low < 0.3 < impact.lift_high
    assert impact.lift == pytest.approx(0.3, abs=0.08)
    assert impact.before.days == compute.BEFORE_DAYS and impact.after.days == compute.AFTER_DAYS
    assert impact.after.start == CHANGE + timedelta(days=1)
    assert impact.after.end == CHANGE + timedelta(days=compute.AFTER_DAYS)
    # The share lift / (1 + lift) of the last 28 days' units a day, over 30 days.
    recent = cat.rows["A"].units[DAYS - 28 :].mean()
    expected = 30 * recent * impact.lift / (1 + impact.lift)
    assert impact.units_per_month == pytest.approx(expected, abs=0.1)
    assert impact.units_per_month == pytest.approx(30 * 52 * 0.3 / 1.3, rel=0.25)
    assert "adjusted for the rest of your catalogue" in impact.note
    assert impact.ready_on is None


def test_a_drop_is_worsened():
    cat = build(own=step(100, 0.7))
    impact = measure(event(), {"A": [event()]}, cat, today=day(DAYS + 2))
    assert impact.verdict == WORSENED
    assert impact.lift_high < 0 and impact.units_per_month < 0


def test_what_moved_the_whole_account_is_adjusted_away():
    # A promotion lifts every product 50% from the day after the change.
    cat = build(account=step(100, 1.5))
    impact = measure(event(), {"A": [event()]}, cat, today=day(DAYS + 2))
    assert impact.verdict == NO_CLEAR_EFFECT
    assert impact.lift_low < 0 < impact.lift_high
    assert re.search(r"moved \+(49|50)\.\d%", impact.note)


def test_other_products_changing_in_the_windows_leave_the_index():
    # A big product doubles its conversion after its own change in the window: in the
    # index it would make A look worse.
    n = np.full(DAYS, 8000.0)
    big = ProductRows(0.1 * n * step(105, 2.0), n, np.ones(DAYS, bool))
    cat = build(rows={"B": big})
    events = {"A": [event()], "B": [event("B", first=day(105), ids=(9,))]}
    impact = measure(event(), events, cat, today=day(DAYS + 2))
    assert impact.verdict == NO_CLEAR_EFFECT
    kept_in = measure(event(), {"A": [event()]}, cat, today=day(DAYS + 2))
    assert kept_in.verdict == WORSENED


def test_pending_days_are_never_used_and_the_verdict_date_is_given():
    as_of = 106  # 6 final days after the change
    cat = build(as_of=as_of, own=step(100, 1.0))
    impact = measure(event(), {"A": [event()]}, cat, today=day(as_of + 4))
    assert not impact.final
    assert impact.as_of == day(as_of)
    assert impact.after.end == day(as_of) and impact.after.days == 6
    assert impact.verdict == NOT_ENOUGH_DATA
    # The window's last day, plus the days traffic takes to arrive (4 here).
    assert impact.ready_on == CHANGE + timedelta(days=compute.AFTER_DAYS + 4)
    assert f"verdict on {compute._d(impact.ready_on)}" in impact.note


def test_an_early_verdict_needs_the_always_valid_interval():
    cat = build(as_of=108, own=step(100, 2.0), sessions=2000)
    impact = measure(event(), {"A": [event()]}, cat, today=day(112))
    assert impact.verdict == IMPROVED and not impact.final
    assert "always-valid" in impact.note


def test_a_shortened_after_window_says_so():
    e = event()
    later = event(first=CHANGE + timedelta(days=10), ids=(2,), fields=("price",))
    cat = build(own=step(100, 1.3))
    impact = measure(e, {"A": [e, later]}, cat, today=day(DAYS + 2))
    assert impact.shortened and impact.final
    assert impact.after.end == CHANGE + timedelta(days=9)
    assert "Shortened" in impact.note and "price" in impact.note


def test_too_few_days_before_another_change():
    e = event()
    later = event(first=CHANGE + timedelta(days=3), ids=(2,))
    impact = measure(e, {"A": [e, later]}, build(), today=day(DAYS + 2))
    assert impact.verdict == NOT_ENOUGH_DATA and impact.ready_on is None
    assert "leaves only 2 usable days" in impact.note


def test_bundled_changes_are_named():
    e = event(ids=(1, 2), fields=("title", "main_image"))
    impact = measure(e, {"A": [e]}, build(own=step(100, 1.3)), today=day(DAYS + 2))
    assert "Measured together" in impact.note and "main image" in impact.note


def test_no_control_means_no_verdict_and_says_so():
    cat = build(products=0, own=step(100, 1.5))
    impact = measure(event(), {"A": [event()]}, cat, today=day(DAYS + 2))
    assert impact.verdict == NOT_ENOUGH_DATA
    assert not impact.trend_adjusted
    assert "No adjustment for what moved the whole account was possible" in impact.note


def test_a_control_that_sells_too_little_is_no_control():
    cat = build(products=4, sessions=400, cvr=0.1)
    # The others sell about 4 x 40 a day against A's 40: less than 5 times.
    impact = measure(event(), {"A": [event()]}, cat, today=day(DAYS + 2))
    assert not impact.trend_adjusted
    assert "less than 5 times" in impact.note


def test_a_product_without_units_gets_no_verdict():
    cat = build()
    cat.rows["A"].units[:] = 0
    impact = measure(event(), {"A": [event()]}, cat, today=day(DAYS + 2))
    assert impact.verdict == NOT_ENOUGH_DATA and impact.lift is None
    assert "No units were sold" in impact.note


def test_a_change_without_metrics():
    impact = measure(event(), {"A": [event()]}, None, today=day(10))
    assert impact.verdict == NOT_ENOUGH_DATA and impact.before is None
    cat = build()
    other = event("Z")
    impact = measure(other, {"Z": [other]}, cat, today=day(DAYS + 2))
    assert impact.verdict == NOT_ENOUGH_DATA
    assert "no sessions or sales" in impact.note


def test_a_wide_final_interval_is_not_enough_data_with_the_detectable_size():
    cat = build(sessions=4, cvr=0.1, own=step(100, 1.0), seed=3)
    impact = measure(event(), {"A": [event()]}, cat, today=day(DAYS + 2))
    assert impact.final
    assert impact.verdict == NOT_ENOUGH_DATA and impact.ready_on is None
    assert "can only detect changes larger than" in impact.note


def test_too_early_for_an_interval_worth_showing():
    cat = build(as_of=103, sessions=20, cvr=0.1)
    impact = measure(event(), {"A": [event()]}, cat, today=day(107))
    assert impact.verdict == NOT_ENOUGH_DATA and not impact.final
    assert impact.lift is not None and impact.lift_low is None and impact.lift_high is None
    assert "so far" in impact.note
