"""The impact statistics on constructed data with known answers, and by Monte Carlo."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cvrtracker.impact import stats


def test_control_index_is_units_over_sessions_and_nan_without_sessions():
    index = stats.control_index(np.array([5, 0, 3]), np.array([50, 0, 30]))
    assert index[0] == pytest.approx(0.1)
    assert math.isnan(index[1])
    assert index[2] == pytest.approx(0.1)


def test_a_constructed_lift_is_recovered_exactly():
    # Expected units 10 a day; the product sells 10 a day before and 12 after: +20%.
    e = np.full(14, 10.0)
    est = stats.estimate(np.full(14, 10.0), e, np.full(14, 12.0), e, kappa=0.02)
    assert est.lift == pytest.approx(0.2)
    assert est.delta == pytest.approx(math.log(1.2))
    assert est.lift_low < 0.2 < est.lift_high


def test_what_moved_the_whole_catalogue_is_not_the_change():
    # The catalogue's conversion doubles after day 14 and the product's does too: no effect.
    sessions = np.full(28, 100.0)
    index = np.r_[np.full(14, 0.05), np.full(14, 0.10)]
    units = sessions * index
    e = sessions * index
    est = stats.estimate(units[:14], e[:14], units[14:], e[14:], kappa=0.02)
    assert est.lift == pytest.approx(0.0, abs=1e-12)
    # A before/after comparison alone would have called it +100%.
    naive = stats.estimate(units[:14], sessions[:14], units[14:], sessions[14:], kappa=0.02)
    assert naive.lift == pytest.approx(1.0)


def test_period_variances_by_hand():
    y = np.array([2.0, 4.0, 6.0])
    e = np.array([3.0, 3.0, 6.0])  # R = 12 / 12 = 1, mu = e
    period = stats.period_stats(y, e, kappa=0.5)
    assert period.ratio == 1
    # v_emp = 3/2 * ((2-3)^2 + (4-3)^2 + 0) / 12^2
    assert period.v_emp == pytest.approx(1.5 * 2 / 144)
    # v_mod = sum mu (1 + 0.5 mu) / 12^2 = (3*2.5 + 3*2.5 + 6*4) / 144
    assert period.v_mod == pytest.approx((7.5 + 7.5 + 24) / 144)
    assert period.variance == period.v_mod


def test_no_units_in_a_window_means_no_estimate():
    e = np.full(14, 2.0)
    assert stats.estimate(np.zeros(14), e, np.full(14, 2.0), e, kappa=0.02) is None
    assert stats.estimate(np.full(14, 2.0), e, np.zeros(14), e, kappa=0.02) is None
    assert stats.estimate(np.array([3.0]), np.array([2.0]), np.full(14, 2.0), e, 0.02) is None


def test_welch_df_of_equal_periods():
    assert stats.welch_df(0.01, 14, 0.01, 14) == pytest.approx(26.0)


def _catalogue(rng, products, days, sessions, cvr, kappa, factor):
    """Daily sessions and units: Binomial(n, p · shock · account factor), the shock
    log-normal with variance κ (the simulator's model)."""
    sigma = math.sqrt(math.log1p(kappa))
    n = rng.poisson(sessions[:, None] * np.ones(days)).astype(float)
    shock = np.exp(rng.normal(-sigma * sigma / 2, sigma, (products, days)))
    p = np.minimum(cvr[:, None] * shock * factor[None, :], 0.9)
    return rng.binomial(n.astype(int), p).astype(float), n


def test_kappa_is_recovered_from_a_catalogue_with_known_overdispersion():
    rng = np.random.default_rng(7)
    products, days, kappa = 300, 60, 0.06
    sessions = np.exp(rng.uniform(np.log(100), np.log(3000), products))
    factor = np.exp(rng.normal(0, 0.1, days))
    y, n = _catalogue(rng, products, days, sessions, np.full(products, 0.1), kappa, factor)
    estimate = stats.kappa_estimate(y, n, np.ones_like(y, bool))
    assert estimate == pytest.approx(kappa, rel=0.25)
    # Pure binomial days: close to 0.
    y0, n0 = _catalogue(rng, products, days, sessions, np.full(products, 0.1), 0.0, factor)
    assert stats.kappa_estimate(y0, n0, np.ones_like(y0, bool)) < 0.01


def test_kappa_of_nothing_usable_is_zero():
    assert stats.kappa_estimate(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 3), bool)) == 0


def _null_runs(rng, reps, traffic, kappa):
    """Changes with no effect: how often our interval and a binomial-only interval
    (1/Y_before + 1/Y_after, the pooled two-proportion test) hold 0, and our alarms."""
    covered = naive = alarms = 0
    for _ in range(reps):
        factor = np.exp(np.cumsum(rng.normal(0, 0.04, 42)) + rng.normal(0, 0.08, 42))
        sessions = np.r_[traffic, np.full(30, 300.0)]
        y, n = _catalogue(rng, 31, 42, sessions, np.full(31, 0.1), kappa, factor)
        index = stats.control_index(y[1:].sum(0), n[1:].sum(0))
        e = n[0] * index
        est = stats.estimate(y[0, :28], e[:28], y[0, 28:], e[28:], kappa)
        covered += est.lift_low <= 0 <= est.lift_high
        alarms += est.lift_low > 0 or est.lift_high < 0
        half = 1.96 * math.sqrt(1 / y[0, :28].sum() + 1 / y[0, 28:].sum())
        naive += abs(est.delta) <= half
    return covered / reps, naive / reps, alarms / reps


@pytest.mark.parametrize("traffic", [50.0, 2000.0])
def test_intervals_cover_synthetic_nulls(traffic):
    covered, _, alarms = _null_runs(np.random.default_rng(int(traffic)), 300, traffic, 0.04)
    assert 0.90 <= covered <= 0.995
    assert alarms <= 0.07


def test_the_coverage_check_catches_an_overconfident_interval():
    # Same data at 2,000 sessions a day: binomial-only intervals miss far too often.
    covered, naive, _ = _null_runs(np.random.default_rng(3), 300, 2000.0, 0.04)
    assert naive < 0.80
    assert covered >= 0.90


def test_a_true_lift_is_inside_the_interval_as_often_as_promised():
    rng = np.random.default_rng(11)
    reps, hits = 300, 0
    for _ in range(reps):
        factor = np.exp(rng.normal(0, 0.1, 42))
        sessions = np.r_[400.0, np.full(20, 300.0)]
        y, n = _catalogue(rng, 21, 42, sessions, np.full(21, 0.08), 0.04, factor)
        # The product's conversion rises 25% from day 28 on.
        lifted = rng.binomial(n[0, 28:].astype(int), np.minimum(0.08 * 1.25 * factor[28:], 0.9))
        y[0, 28:] = lifted
        index = stats.control_index(y[1:].sum(0), n[1:].sum(0))
        e = n[0] * index
        est = stats.estimate(y[0, :28], e[:28], y[0, 28:], e[28:], 0.04)
        hits += est.lift_low <= 0.25 <= est.lift_high
    assert 0.90 <= hits / reps <= 0.995


def test_mde_shrinks_with_more_days_and_traffic():
    v = stats.projected_variance
    assert stats.mde(v(14, 5, 0.02)) > stats.mde(v(28, 5, 0.02)) > stats.mde(v(28, 50, 0.02))
    assert stats.mde(math.inf) == math.inf
    assert v(0, 5, 0.02) == math.inf
    # exp(2.80 * sqrt(v)) - 1
    assert stats.mde(0.01) == pytest.approx(math.expm1(2.8016 * 0.1), rel=1e-3)


def test_always_valid_interval_is_wider_than_the_fixed_one():
    low, high = stats.msprt_interval(0.1, 0.01)
    fixed = 1.96 * 0.1
    assert math.log1p(low) < 0.1 - fixed and math.log1p(high) > 0.1 + fixed
    assert math.log1p(low) + math.log1p(high) == pytest.approx(0.2)


def test_always_valid_interval_survives_daily_looks():
    # Under no effect, looking every day from day 3 to 14 and stopping at the first
    # interval that excludes 0: the fixed 95% interval alarms far more often.
    rng = np.random.default_rng(5)
    reps, av_alarms, fixed_alarms = 400, 0, 0
    for _ in range(reps):
        pre = rng.poisson(20.0, 28).astype(float)
        post = rng.poisson(20.0, 14).astype(float)
        e = np.full(28, 20.0)
        av = fixed = False
        for k in range(3, 15):
            est = stats.estimate(pre, e, post[:k], e[:k], 0.0, method="max")
            low, high = stats.msprt_interval(est.delta, est.variance)
            av |= low > 0 or high < 0
            fixed |= est.lift_low > 0 or est.lift_high < 0
        av_alarms += av
        fixed_alarms += fixed
    assert av_alarms / reps <= 0.03
    assert fixed_alarms > 2 * av_alarms
