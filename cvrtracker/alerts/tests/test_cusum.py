"""The conversion-drop CUSUM on simulated products (negative-binomial days, an account
whose conversion swings from day to day)."""

from __future__ import annotations

import math

import numpy as np

from cvrtracker.alerts import cusum

KAPPA = 0.04
CVR = 0.10


def account_index(rng, days: int) -> np.ndarray:
    """The rest of the account's conversion per day: weekly swings and noise."""
    weekly = 1 + 0.15 * np.sin(np.arange(days) * 2 * np.pi / 7)
    return CVR * weekly * rng.lognormal(0, 0.05, days)


def product_units(rng, sessions: np.ndarray, index: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """NB2 units: Poisson with a Gamma(1/κ, κ) day effect on mean R·n·C."""
    mean = ratio * sessions * index
    return rng.poisson(mean * rng.gamma(1 / KAPPA, KAPPA, len(mean)))


def run(sessions_a_day: float, *, days: int, drop_from: int | None, seed: int, h: float):
    rng = np.random.default_rng(seed)
    index = account_index(rng, days)
    sessions = rng.poisson(sessions_a_day, days).astype(float)
    ratio = np.full(days, 1.3)  # this product converts better than the account
    if drop_from is not None:
        ratio[drop_from:] *= 0.7  # a 30% drop
    y = product_units(rng, sessions, index, ratio)
    e = sessions * index
    use = np.ones(days, bool)
    return cusum.cusum_run(y, e, use, start=70, stop=days - 1, kappa=KAPPA, h=h)


def test_a_stable_product_at_20_sessions_a_day_never_alarms_over_years():
    h = cusum.threshold(products=100, false_alerts_per_year=1)
    for seed in range(20):
        result = run(20, days=70 + 730, drop_from=None, seed=seed, h=h)
        assert result.alarms == [], seed


def test_stable_high_traffic_products_stay_within_the_false_alert_budget():
    h = cusum.threshold(products=100, false_alerts_per_year=1)
    alarms = sum(
        len(run(2000, days=70 + 365, drop_from=None, seed=seed, h=h).alarms) for seed in range(30)
    )
    # 30 product-years at a budget of 1 per 100 product-years (Lorden's bound is loose).
    assert alarms <= 1


def test_a_30_pct_drop_at_high_traffic_is_detected_within_a_week():
    h = cusum.threshold(products=100, false_alerts_per_year=1)
    delays = []
    for seed in range(10):
        result = run(2000, days=200, drop_from=150, seed=seed, h=h)
        assert result.alarms, seed
        assert result.alarms[0] >= 150, seed
        delays.append(result.alarms[0] - 150)
    assert np.median(delays) <= 7


def test_days_to_detect_says_when_traffic_is_too_little_to_monitor():
    h = cusum.threshold(products=100, false_alerts_per_year=1)
    assert cusum.days_to_detect(20 * CVR, KAPPA, h) > cusum.MAX_DAYS_TO_DETECT
    assert cusum.days_to_detect(2000 * CVR, KAPPA, h) < 14
    assert cusum.days_to_detect(0, KAPPA, h) == math.inf


def test_skipped_days_and_a_short_history_add_nothing():
    rng = np.random.default_rng(1)
    days = 120
    e = np.full(days, 100.0)
    y = np.zeros(days)  # nothing sold at all: a huge drop...
    use = np.zeros(days, bool)  # ...but every day is a stock-out or lost Buy Box day
    result = cusum.cusum_run(y, e, use, start=70, stop=days - 1, kappa=KAPPA, h=5.0)
    assert result.alarms == [] and result.s == 0.0
    # Too little baseline: the first days of a new product are not judged.
    y = rng.poisson(10, days).astype(float)
    short = cusum.cusum_run(y, e, np.ones(days, bool), start=0, stop=15, kappa=KAPPA, h=5.0)
    assert short.alarms == [] and short.baseline is None


def test_the_gamma_prior_pulls_little_and_never_without_data():
    assert cusum.gamma_prior(np.array([5.0]), np.array([5.0])) == (0.0, 0.0)
    a, b = cusum.gamma_prior(np.array([100.0, 200.0, 300.0]), np.array([100.0, 150.0, 250.0]))
    assert a / b > 0
    # The prior's weight (b, in expected units) is small next to a real baseline.
    assert b < 100
