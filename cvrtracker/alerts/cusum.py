"""Conversion drops: a risk-adjusted negative-binomial CUSUM per product (pure, no Django).

Reference: shared/reference/impact-statistics.md §4 (Steiner et al. 2000). Per day t
of a product, with e_t = sessions_t × C_t (the units the product would have sold at
the rest of the account's conversion that day, the same catalogue index as the
impact of a change, impact/stats.py):

- its baseline R_t = O/E over its clean days t−63…t−8, shrunk toward the catalogue
  by a Gamma prior fitted by moments (`gamma_prior`);
- μ_t = R_t·e_t, and the log-likelihood ratio of "conversion down by d = 25%":
  W_t = y ln(1−d) + (y + r)[ln(r + μ_t) − ln(r + μ_t(1−d))], r = 1/κ (NB2 with the
  account's overdispersion κ; κ = 0 is the Poisson limit y ln(1−d) + μ_t d);
- S_t = max(0, S_{t−1} + W_t); an alarm when S_t > h, then S restarts at 0.

h = ln(365·N/B) for a budget of B false alerts per account-year over N monitored
products (Lorden: the in-control run length is at least e^h). Low traffic gives tiny
W_t, so noise cannot reach h: such a product is "too little traffic to monitor"
(`days_to_detect` of a 30% drop over MAX_DAYS_TO_DETECT) rather than silently watched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

DROP = 0.25
# The drop the monitorability promise is about, and how fast it must be seen.
DETECT_DROP = 0.30
MAX_DAYS_TO_DETECT = 28
BASELINE_FIRST = 63  # days before t
BASELINE_LAST = 8
MIN_BASELINE_DAYS = 21
# The Gamma prior's spread is at least this fraction of its mean: a seller's products
# really differ in conversion, so the baseline is never pulled hard toward the average.
PRIOR_MIN_CV = 0.25


def threshold(*, products: int, false_alerts_per_year: float) -> float:
    """h = ln(365·N/B)."""
    return math.log(365.0 * max(products, 1) / max(false_alerts_per_year, 1e-6))


def llr(y: np.ndarray | float, mu: np.ndarray | float, kappa: float, d: float = DROP):
    """W: the log-likelihood ratio of a drop by `d` for y units at expected mean μ."""
    y = np.asarray(y, float)
    mu = np.asarray(mu, float)
    if kappa <= 1e-9:
        return y * math.log1p(-d) + mu * d
    r = 1.0 / kappa
    return y * math.log1p(-d) + (y + r) * (np.log(r + mu) - np.log(r + mu * (1 - d)))


def expected_llr(mu: float, kappa: float, drop: float, d: float = DROP) -> float:
    """E[W] per day when conversion really fell by `drop` (0: in control, negative)."""
    m = mu * (1 - drop)
    if kappa <= 1e-9:
        return m * math.log1p(-d) + mu * d
    r = 1.0 / kappa
    return m * math.log1p(-d) + (m + r) * (math.log(r + mu) - math.log(r + mu * (1 - d)))


def days_to_detect(mu: float, kappa: float, h: float, drop: float = DETECT_DROP) -> float:
    """About how many days a drop by `drop` takes to reach h (Wald); inf when never."""
    if mu <= 0:
        return math.inf
    drift = expected_llr(mu, kappa, drop)
    return h / drift if drift > 0 else math.inf


def gamma_prior(observed: np.ndarray, expected: np.ndarray) -> tuple[float, float]:
    """(a, b) of a Gamma(a, rate b) prior on products' R = O/E, fitted by moments over
    the products given (their baseline sums); (0, 0), no shrinkage, without data."""
    observed = np.asarray(observed, float)
    expected = np.asarray(expected, float)
    keep = expected > 0
    observed, expected = observed[keep], expected[keep]
    if len(observed) < 2 or observed.sum() <= 0:
        return 0.0, 0.0
    mean = float(observed.sum() / expected.sum())
    ratios = observed / expected
    # Between-product variance: the spread of the ratios less their Poisson noise.
    spread = float(np.mean((ratios - mean) ** 2) - np.mean(mean / expected))
    variance = max(spread, (PRIOR_MIN_CV * mean) ** 2)
    return mean**2 / variance, mean / variance


@dataclass
class CusumResult:
    s: float  # S after the last day processed
    last: int  # the last day index processed (start − 1 when none)
    alarms: list[int] = field(default_factory=list)  # day indexes where S crossed h
    baseline: float | None = None  # R at the last day with a baseline
    expected_per_day: float = 0.0  # μ̄: the product's expected units a day at its baseline
    recent_ratio: float | None = None  # O/E of the last days run ÷ the baseline


def cusum_run(
    y: np.ndarray,
    e: np.ndarray,
    use: np.ndarray,
    *,
    start: int,
    stop: int,
    kappa: float,
    h: float,
    s0: float = 0.0,
    prior: tuple[float, float] = (0.0, 0.0),
    d: float = DROP,
) -> CusumResult:
    """Run the CUSUM over day indexes [start, stop] of one product from S = s0.

    `y` units, `e` expected units at the catalogue's rate, `use` the days that count
    (clean: traffic reported, Buy Box held, in stock; not paused by a change of its
    own). Days without `use`, or without MIN_BASELINE_DAYS of baseline, are skipped.
    """
    y = np.asarray(y, float)
    e = np.asarray(e, float)
    use = np.asarray(use, bool) & (e > 0)
    cy = np.concatenate([[0.0], np.cumsum(np.where(use, y, 0.0))])
    ce = np.concatenate([[0.0], np.cumsum(np.where(use, e, 0.0))])
    ck = np.concatenate([[0], np.cumsum(use)])
    result = CusumResult(s=float(s0), last=start - 1)
    recent_y = recent_mu = 0.0
    s = float(s0)

    def baseline(t: int) -> tuple[float, float] | None:
        """(R, expected units a day at R) from the baseline window of day t."""
        lo, hi = max(0, t - BASELINE_FIRST), max(0, t - BASELINE_LAST + 1)
        days = int(ck[hi] - ck[lo])
        big_y, big_e = cy[hi] - cy[lo], ce[hi] - ce[lo]
        if days < MIN_BASELINE_DAYS or big_e + prior[1] <= 0:
            return None
        ratio = (big_y + prior[0]) / (big_e + prior[1])
        return ratio, ratio * big_e / days

    for t in range(max(start, 0), min(stop, len(y) - 1) + 1):
        result.last = t
        found = baseline(t)
        if found is None:
            continue
        ratio, _ = found
        if not use[t]:
            continue
        mu = ratio * e[t]
        recent_y += y[t]
        recent_mu += mu
        s = max(0.0, s + float(llr(y[t], mu, kappa, d)))
        if s > h:
            result.alarms.append(t)
            s = 0.0
    # Where the product stands at `stop`, whether or not days were run.
    found = baseline(min(stop, len(y) - 1))
    if found is not None:
        result.baseline, result.expected_per_day = float(found[0]), float(found[1])
    result.s = s
    if recent_mu > 0:
        result.recent_ratio = recent_y / recent_mu
    return result
