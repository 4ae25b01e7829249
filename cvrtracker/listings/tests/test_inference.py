"""The pure rules of listings/inference.py on synthetic series: noise must not make events."""

from __future__ import annotations

import numpy as np
import pytest

from cvrtracker.listings.inference import buy_box_steps, price_steps, stock_out_steps

DAYS = 240
SEEDS = (1, 2, 3, 4, 5)


def series(seed: int, rate: float, *, days: int = DAYS) -> dict[str, np.ndarray]:
    """A product in stock with its Buy Box: Poisson units, sessions and page views."""
    rng = np.random.default_rng(seed)
    sessions = rng.poisson(max(rate * 10, 1.0), days)
    return {
        "units": rng.poisson(rate, days).astype(np.int64),
        "page_views": sessions + rng.poisson(1, days),
        "buy_box": np.full(days, 100.0),
        "pending": np.zeros(days, bool),
        "fetched": np.ones(days, bool),
    }


def sales_at(units: np.ndarray, price: np.ndarray) -> np.ndarray:
    return np.rint(units * price).astype(np.int64)


def prices(*, base: float = 2499.0, days: int = DAYS) -> np.ndarray:
    return np.full(days, base)


def steps_of(s: dict, price: np.ndarray):
    return price_steps(units=s["units"], sales=sales_at(s["units"], price), fetched=s["fetched"])


# -- price ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("rate", [0.5, 3.0, 20.0])
@pytest.mark.parametrize("pct", [-20.0, -3.5, 3.5, 12.0])
def test_a_sustained_step_of_3_pct_or_more_is_dated_on_its_first_day(seed, rate, pct):
    s = series(seed, rate)
    price = prices()
    price[150:] = round(2499 * (1 + pct / 100))
    s["units"][150] = max(1, s["units"][150])  # the step's first day sells
    (step,) = steps_of(s, price)
    assert step.day == 150
    assert step.last_before == int(np.flatnonzero(s["units"][:150])[-1])
    assert step.before == 2499 and step.after == price[150]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("rate", [0.5, 3.0, 20.0])
def test_a_2_pct_move_gives_none(seed, rate):
    s = series(seed, rate)
    price = prices()
    price[120:] = 2449  # -2%
    assert steps_of(s, price) == []


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("length", [1, 2, 3])
def test_a_short_promotion_gives_no_change(seed, length):
    s = series(seed, 5.0)
    price = prices()
    price[100 : 100 + length] = 1999  # -20% for a day or a few
    assert steps_of(s, price) == []


@pytest.mark.parametrize("seed", SEEDS)
def test_a_price_cut_and_its_return_are_two_steps(seed):
    s = series(seed, 4.0)
    s["units"][[90, 130]] = np.maximum(1, s["units"][[90, 130]])
    price = prices()
    price[90:130] = 2199
    cut, back = steps_of(s, price)
    assert (cut.day, cut.after) == (90, 2199)
    assert (back.day, back.before, back.after) == (130, 2199, 2499)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_weekly_seller_needs_weeks_of_sales_at_the_new_price(seed):
    rng = np.random.default_rng(seed)
    units = np.zeros(DAYS, np.int64)
    sale_days = np.arange(3, DAYS, 7) + rng.integers(-2, 3, len(range(3, DAYS, 7)))
    units[sale_days] = 1
    fetched = np.ones(DAYS, bool)
    price = prices()
    # One sale at a promotion price is no change.
    promo = price.copy()
    promo[sale_days[10]] = 1999
    assert price_steps(units=units, sales=sales_at(units, promo), fetched=fetched) == []
    # A new price held for five weeks is, dated on its first sale.
    price[sale_days[20] :] = 2299
    (step,) = price_steps(units=units, sales=sales_at(units, price), fetched=fetched)
    assert (step.day, step.last_before) == (sale_days[20], sale_days[19])


@pytest.mark.parametrize("seed", SEEDS)
def test_b2b_and_quantity_discount_days_make_no_steps(seed):
    rng = np.random.default_rng(seed + 100)
    s = series(seed, 6.0)
    price = prices()
    # A day in five has business or quantity-discount orders mixed in: its average
    # drops by 2-8%, never twice the same.
    noisy = rng.random(DAYS) < 0.2
    price[noisy] *= 1 - rng.uniform(0.02, 0.08, noisy.sum())
    assert steps_of(s, price) == []
    # A real 10% cut is still found, within a day or two, when such days are one in ten
    # (at one in five, about a quarter of cuts are missed: see the README).
    price = prices()
    noisy = rng.random(DAYS) < 0.1
    price[noisy] *= 1 - rng.uniform(0.02, 0.08, noisy.sum())
    price[160:] *= 0.9
    s["units"][160] = max(1, s["units"][160])
    (step,) = steps_of(s, price)
    assert 158 <= step.day <= 160


def test_a_step_too_close_to_the_end_waits_for_its_hold_window():
    s = series(1, 5.0)
    s["units"][-5:] = 3
    price = prices()
    price[-5:] = 1999
    assert steps_of(s, price) == []


def test_days_not_fetched_are_no_sales():
    s = series(2, 5.0)
    price = prices()
    price[100:] = 1999
    s["fetched"][95:110] = False
    s["units"][110] = max(1, s["units"][110])
    (step,) = price_steps(units=s["units"], sales=sales_at(s["units"], price), fetched=s["fetched"])
    assert step.day == 110  # the first fetched selling day at the new price


# -- stock-outs ------------------------------------------------------------------------------


def stock_outs(s: dict, inventory_empty: bool | None = None):
    return stock_out_steps(
        units=s["units"],
        page_views=s["page_views"],
        buy_box=s["buy_box"],
        pending=s["pending"],
        fetched=s["fetched"],
        inventory_empty=inventory_empty,
    )


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("rate", [0.05, 0.3, 1.0])
def test_low_volume_products_have_no_stock_outs(seed, rate):
    s = series(seed, rate)
    s["page_views"] = np.random.default_rng(seed).poisson(2, DAYS)  # days without any view
    s["pending"][-3:] = True
    steps, out = stock_outs(s, inventory_empty=False)
    assert steps == [] and not out.any()
    # Nothing known about the inventory: still nothing.
    assert stock_outs(s)[0] == []


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("rate", [0.3, 5.0])
def test_a_stock_out_is_dated_on_its_first_day_at_zero_buy_box(seed, rate):
    s = series(seed, rate)
    s["units"][[99, 130]] = [2, 3]
    s["units"][100:130] = 0
    s["buy_box"][100:130] = 0.0  # sessions go on, nobody can buy
    s["page_views"][[100, 129]] = np.maximum(1, s["page_views"][[100, 129]])
    steps, out = stock_outs(s)
    assert [(x.action, x.day, x.last_before) for x in steps] == [
        ("out_of_stock", 100, 99),
        ("back_in_stock", 130, 129),
    ]
    assert steps[0].before == 2 and steps[1].after == 3 and steps[1].extra["days"] == 30
    # "Out" days are those with page views: a day nobody visited tells nothing.
    assert (out[100:130] == (s["page_views"][100:130] > 0)).all() and not out[:100].any()


def test_one_day_at_zero_buy_box_is_no_stock_out():
    s = series(3, 4.0)
    s["units"][80] = 0
    s["buy_box"][80] = 0.0
    steps, out = stock_outs(s)
    assert steps == [] and out[80]


def test_days_without_traffic_neither_start_nor_end_a_stock_out():
    s = series(4, 4.0)
    s["units"][50:60] = 0
    s["buy_box"][50:60] = 0.0
    s["page_views"][[50, 55, 56]] = 0  # no views: nothing known
    s["units"][60] = max(1, s["units"][60])
    steps, _ = stock_outs(s)
    assert [(x.action, x.day) for x in steps] == [("out_of_stock", 51), ("back_in_stock", 60)]


@pytest.mark.parametrize("seed", SEEDS)
def test_trailing_days_without_traffic_need_the_inventory_and_an_unlikely_run(seed):
    s = series(seed, 5.0)
    s["pending"][-3:] = True
    s["units"][-3:] = 0
    s["units"][-4] = max(1, s["units"][-4])
    assert stock_outs(s, inventory_empty=None)[0] == []
    assert stock_outs(s, inventory_empty=False)[0] == []
    (step,) = stock_outs(s, inventory_empty=True)[0]
    assert (step.action, step.day, step.extra) == (
        "out_of_stock",
        DAYS - 3,
        {"evidence": "inventory"},
    )
    # At 0.3 units a day, three days without a sale say nothing about when it ran out.
    slow = series(seed, 0.3)
    slow["pending"][-3:] = True
    slow["units"][-3:] = 0
    assert stock_outs(slow, inventory_empty=True)[0] == []


def test_a_stock_out_still_going_on_needs_two_days_or_the_inventory():
    s = series(5, 4.0)
    s["units"][-4:] = 0
    s["buy_box"][-4] = 0.0
    s["pending"][-3:] = True
    assert stock_outs(s)[0] == []
    (step,) = stock_outs(s, inventory_empty=True)[0]
    assert (step.action, step.day, step.extra["evidence"]) == (
        "out_of_stock",
        DAYS - 4,
        "buy_box+inventory",
    )


def test_a_product_out_since_the_history_began_has_no_events():
    s = series(1, 4.0)
    s["units"][:20] = 0
    s["buy_box"][:20] = 0.0
    assert stock_outs(s)[0] == []


# -- Buy Box ---------------------------------------------------------------------------------


def buy_boxes(s: dict, out: np.ndarray | None = None, threshold: float = 50.0):
    return buy_box_steps(
        buy_box=s["buy_box"],
        page_views=s["page_views"],
        pending=s["pending"],
        fetched=s["fetched"],
        out=np.zeros(len(s["units"]), bool) if out is None else out,
        threshold=threshold,
    )


def test_a_lost_buy_box_is_dated_on_its_first_day_below_and_back_above():
    s = series(1, 4.0)
    s["buy_box"][100:107] = 15.0
    lost, won = buy_boxes(s)
    assert (lost.action, lost.day, lost.last_before, lost.before, lost.after) == (
        "lost",
        100,
        99,
        100.0,
        15.0,
    )
    assert (won.action, won.day, won.before, won.after) == ("won_back", 107, 15.0, 100.0)
    assert lost.extra == {"threshold": 50.0}


@pytest.mark.parametrize("seed", SEEDS)
def test_a_share_flickering_around_the_threshold_is_no_change(seed):
    s = series(seed, 4.0)
    rng = np.random.default_rng(seed)
    s["buy_box"] = np.where(np.arange(DAYS) % 2 == 0, 45.0, 55.0) + rng.uniform(-3, 3, DAYS)
    assert buy_boxes(s) == []
    one_day = series(seed, 4.0)
    one_day["buy_box"][[40, 90, 140]] = 20.0
    assert buy_boxes(one_day) == []


def test_the_threshold_is_the_setting():
    s = series(2, 4.0)
    s["buy_box"][60:] = 40.0
    assert [x.action for x in buy_boxes(s, threshold=50.0)] == ["lost"]
    assert buy_boxes(s, threshold=30.0) == []


def test_a_stock_out_is_not_also_a_lost_buy_box():
    s = series(3, 4.0)
    s["units"][100:110] = 0
    s["buy_box"][100:110] = 0.0
    _, out = stock_outs(s)
    assert buy_boxes(s, out) == []
    assert [x.action for x in buy_boxes(s)] == ["lost", "won_back"]  # without the mask


def test_pending_days_and_days_without_views_are_not_read():
    s = series(4, 4.0)
    s["buy_box"][-3:] = 0.0
    s["pending"][-3:] = True
    s["buy_box"][50:53] = 0.0
    s["page_views"][50:53] = 0
    assert buy_boxes(s) == []
