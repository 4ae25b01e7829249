"""The statistics of a change's impact: pure functions on numpy arrays, no Django.

The method is shared/reference/impact-statistics.md §3 (observed ÷ expected with a
day-level delta-method variance and a negative-binomial floor):

- the catalogue control index C_t = Σ units ÷ Σ sessions of the seller's other
  products on day t (leave-one-out, products with changes of their own left out);
- the product's expected units e_t = n_t · C_t; per period Y = Σ y_t, E = Σ e_t,
  R = Y ÷ E; the effect on the log scale δ = ln R_after − ln R_before, the lift
  e^δ − 1;
- per period the variance of ln R is the larger of the day-level delta method
  (k/(k−1) · Σ (y_t − R e_t)² ÷ Y², which includes the index's own noise) and the
  NB2 model Σ μ_t (1 + κ μ_t) ÷ Y² with μ_t = R e_t; Welch degrees of freedom;
  95% t interval;
- κ (overdispersion of daily units beyond binomial noise) by empirical Bayes
  across the catalogue, each product against a leave-one-out index;
- the minimum detectable effect of a design, and the always-valid (mixture SPRT)
  interval for the "impact so far" shown before the after window is complete.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def _sps():
    """scipy.stats, imported when an interval is first computed: importing it costs a
    web process some 50 MB, and only the impact task needs it."""
    from scipy import stats

    return stats


LEVEL = 0.95
# Power for the minimum detectable effect (t_.975 + t_.80 in the reference).
POWER = 0.80
# The always-valid interval: typical lift size τ and its error rate α (reference §3).
MSPRT_TAU = 0.15
MSPRT_ALPHA = 0.01
# How the two variances of a period combine (see `estimate`): "moderated" (default)
# or "max" (the reference's max(v_emp, v_mod) with Welch df).
VARIANCE = "moderated"
# The prior degrees of freedom of the moderated dispersion ratio: the catalogue's κ
# weighs as much as this many days of the product's own residuals.
PRIOR_DF = 20.0


@dataclass(frozen=True)
class PeriodStats:
    """One window's observed and expected units and the variance of ln R."""

    days: int
    observed: float  # Y
    expected: float  # E
    v_emp: float
    v_mod: float

    @property
    def ratio(self) -> float:
        return self.observed / self.expected

    @property
    def variance(self) -> float:
        return max(self.v_emp, self.v_mod)


@dataclass(frozen=True)
class Estimate:
    """δ = ln R_after − ln R_before with its variance, Welch df and 95% interval (lifts)."""

    before: PeriodStats
    after: PeriodStats
    delta: float
    variance: float
    df: float
    lift: float
    lift_low: float
    lift_high: float

    @property
    def se(self) -> float:
        return math.sqrt(self.variance)


def control_index(units: np.ndarray, sessions: np.ndarray) -> np.ndarray:
    """C_t = Σ units ÷ Σ sessions per day (NaN where there were no sessions)."""
    units = np.asarray(units, float)
    sessions = np.asarray(sessions, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sessions > 0, units / np.where(sessions > 0, sessions, 1), np.nan)


def period_stats(y: np.ndarray, e: np.ndarray, kappa: float) -> PeriodStats | None:
    """Y, E and both variances of ln(Y/E) over the days given (None without units or
    fewer than two days with expected units)."""
    y = np.asarray(y, float)
    e = np.asarray(e, float)
    keep = e > 0
    y, e = y[keep], e[keep]
    k = len(y)
    big_y, big_e = float(y.sum()), float(e.sum())
    if k < 2 or big_y <= 0 or big_e <= 0:
        return None
    r = big_y / big_e
    mu = r * e
    v_emp = k / (k - 1) * float(((y - mu) ** 2).sum()) / big_y**2
    v_mod = float((mu * (1 + kappa * mu)).sum()) / big_y**2
    return PeriodStats(days=k, observed=big_y, expected=big_e, v_emp=v_emp, v_mod=v_mod)


def welch_df(v_pre: float, k_pre: int, v_post: float, k_post: int) -> float:
    denominator = v_pre**2 / max(k_pre - 1, 1) + v_post**2 / max(k_post - 1, 1)
    return (v_pre + v_post) ** 2 / denominator if denominator > 0 else float(k_pre + k_post - 2)


def estimate(
    y_pre: np.ndarray,
    e_pre: np.ndarray,
    y_post: np.ndarray,
    e_post: np.ndarray,
    kappa: float,
    level: float = LEVEL,
    method: str | None = None,
) -> Estimate | None:
    """The lift of the after window over the before window with its interval; None
    when either window has no units (or fewer than two days): nothing to compare.

    `method` "max": per period max(v_emp, v_mod), Welch df (reference §3).
    "moderated": the NB2 model variance scaled by the product's own dispersion
    ratio φ̂ = v_emp ÷ v_mod, shrunk toward 1 (the catalogue's κ) with PRIOR_DF
    prior degrees of freedom, φ̃ = (PRIOR_DF + Σ(k−1)φ̂) ÷ (PRIOR_DF + Σ(k−1)), and
    t quantiles with PRIOR_DF + Σ(k−1) df (a moderated t, as in Smyth 2004).
    Taking the larger of two noisy variance estimates overstates the variance on
    average: on the simulator, "max" covered 99.7% instead of 95%.
    """
    before = period_stats(y_pre, e_pre, kappa)
    after = period_stats(y_post, e_post, kappa)
    if before is None or after is None:
        return None
    delta = math.log(after.ratio) - math.log(before.ratio)
    if (method or VARIANCE) == "max":
        v = before.variance + after.variance
        df = welch_df(before.variance, before.days, after.variance, after.days)
    else:
        dfs = (before.days - 1, after.days - 1)
        ratios = (before.v_emp / before.v_mod, after.v_emp / after.v_mod)
        df = PRIOR_DF + sum(dfs)
        phi = (PRIOR_DF + sum(d * r for d, r in zip(dfs, ratios, strict=True))) / df
        v = phi * (before.v_mod + after.v_mod)
    half = float(_sps().t.ppf(0.5 + level / 2, df)) * math.sqrt(v)
    return Estimate(
        before=before,
        after=after,
        delta=delta,
        variance=v,
        df=df,
        lift=math.expm1(delta),
        lift_low=math.expm1(delta - half),
        lift_high=math.expm1(delta + half),
    )


def kappa_estimate(
    units: np.ndarray, sessions: np.ndarray, use: np.ndarray, *, min_days: int = 7
) -> float:
    """κ̂ = max(0, Σ_j Σ_t [k/(k−1)(y − μ)² − μ] ÷ Σ_j Σ_t μ²) over the catalogue.

    `units`, `sessions` are [product, day]; `use` marks the product-days to use
    (clean days of products without changes of their own). Each product j is
    compared with the index of the others (leave-one-out), μ_jt = R_j n_jt C_t^(−j),
    R_j its own observed ÷ expected over its days; products with fewer than
    `min_days` usable days or no units are skipped. 0.0 when nothing is usable.
    """
    y = np.where(use, np.asarray(units, float), 0.0)
    n = np.where(use, np.asarray(sessions, float), 0.0)
    if y.size == 0:
        return 0.0
    total_y, total_n = y.sum(axis=0), n.sum(axis=0)
    loo_y, loo_n = total_y[None, :] - y, total_n[None, :] - n
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(loo_n > 0, loo_y / np.where(loo_n > 0, loo_n, 1), 0.0)
    e = n * c
    valid = use & (e > 0)
    k = valid.sum(axis=1)
    e = np.where(valid, e, 0.0)
    y = np.where(valid, y, 0.0)
    big_y, big_e = y.sum(axis=1), e.sum(axis=1)
    rows = (k >= min_days) & (big_y > 0) & (big_e > 0)
    if not rows.any():
        return 0.0
    r = big_y[rows] / big_e[rows]
    mu = r[:, None] * e[rows]
    kk = k[rows][:, None].astype(float)
    resid = np.where(valid[rows], kk / (kk - 1) * (y[rows] - mu) ** 2 - mu, 0.0)
    denominator = float((mu**2).sum())
    if denominator <= 0:
        return 0.0
    return max(0.0, float(resid.sum()) / denominator)


def projected_variance(days: int, units_per_day: float, kappa: float, rho: float = 1.0) -> float:
    """The variance of ln R over `days` days at `units_per_day` expected units:
    ρ (1 + κ μ̄) ÷ (k μ̄) (reference §3, "MDE from data")."""
    if days <= 0 or units_per_day <= 0:
        return math.inf
    return rho * (1 + kappa * units_per_day) / (days * units_per_day)


def mde(variance: float, level: float = LEVEL, power: float = POWER) -> float:
    """The smallest lift a test with this variance of δ detects with `power`:
    exp((z_{1−α/2} + z_power) √v) − 1 (normal quantiles: a planning figure)."""
    if not math.isfinite(variance):
        return math.inf
    sps = _sps()
    z = float(sps.norm.ppf(0.5 + level / 2) + sps.norm.ppf(power))
    return math.expm1(z * math.sqrt(variance))


def msprt_interval(
    delta: float, variance: float, tau: float = MSPRT_TAU, alpha: float = MSPRT_ALPHA
) -> tuple[float, float]:
    """The always-valid interval for δ (normal-mixture SPRT, Johari, Pekelis & Walsh):
    δ̂ ± √( v(v+τ²)/τ² · (2 ln(1/α) + ln((v+τ²)/v)) ), as lifts (e^x − 1).

    Valid at every look, so a daily "impact so far" may be read every day without
    inflating the false alarms the way a daily 95% interval would."""
    v, t2 = variance, tau * tau
    half = math.sqrt(v * (v + t2) / t2 * (2 * math.log(1 / alpha) + math.log((v + t2) / v)))
    return math.expm1(delta - half), math.expm1(delta + half)
