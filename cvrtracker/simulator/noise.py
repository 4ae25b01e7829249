"""The randomness of the conversion model: binomial units, shocks and the account's calendar.

Real daily conversion is noisy in three layers (shared/reference/impact-statistics.md §1):
each session converts or not (binomial), each product has good and bad days beyond that
(a log-normal shock on its conversion, overdispersion), and the whole account moves
together (paydays, promotions, holidays, slow trends). A change-impact test tuned on a
world without the last two raises false alarms on real data, so the simulator has all
three. Every draw is a hash of what it describes (hashing.py), so any day of any product
can be computed alone.

The account factor belongs to a seller and a day: its marketplaces share it, each on its
own local day (a Prime Day is the same calendar day everywhere).
"""

from __future__ import annotations

import math
import os
from datetime import date, timedelta
from functools import lru_cache

from .hashing import units

# Product-day shock on conversion: exp(N(0, sigma²)) scaled to mean 1 (SIM_CVR_NOISE).
CVR_NOISE_SIGMA = 0.15
# Product-day multiplier on sessions: log-normal, and now and then a spike (a deal, a
# mention on social media) of SPIKE_LOW to SPIKE_HIGH times the usual traffic.
SESSION_SIGMA = 0.25
SPIKE_SHARE = 0.01
SPIKE_LOW, SPIKE_HIGH = 1.5, 4.0
# Conversion is a probability per session; no day converts more than this.
CVR_CAP = 0.9
# Below this many expected units a binomial draw walks the exact CDF; above, a normal
# approximation with a skewness correction (Cornish-Fisher) is within one unit.
BINOMIAL_EXACT_MEAN = 30.0

# The account's day-to-day drift on conversion: an AR(1) on the log scale with this
# autocorrelation and stationary sigma, summed over ACCOUNT_AR_DAYS past innovations
# (0.7^24 < 0.0002), so a day needs no history.
ACCOUNT_AR_PHI = 0.7
ACCOUNT_AR_SIGMA = 0.04
ACCOUNT_AR_DAYS = 24
# A slow wave per seller (its period and phase drawn from the seed): amplitude on the log
# scale of sessions and of conversion.
TREND_SESSIONS, TREND_CVR = 0.10, 0.05
TREND_PERIOD_DAYS = (300, 900)
# Seller promotions (coupons, a sale): in a given week one starts with this probability,
# and lasts 2 to 4 days.
PROMOTION_WEEKLY_SHARE = 0.06
# (sessions, conversion) multipliers of calendar days shared by every seller.
PAYDAY = (1.03, 1.06)  # the 1st and 15th of the month; half as much the day after
PROMOTION = (1.3, 1.15)
PRIME_DAY = (2.0, 1.3)  # the second Tuesday of July and the day after
FALL_DEAL_DAYS = (1.5, 1.15)  # the second Tuesday of October and the day after
BLACK_FRIDAY = (1.8, 1.25)  # the day after the fourth Thursday of November, and Cyber Monday
CYBER_WEEKEND = (1.4, 1.12)  # the Saturday and Sunday between them
CHRISTMAS = (0.75, 0.85)  # 25 December


def cvr_noise_from_env(value: float | None = None) -> float:
    """The product-day conversion shock's sigma: `value`, else SIM_CVR_NOISE, else the default."""
    if value is None:
        value = float(os.environ.get("SIM_CVR_NOISE", CVR_NOISE_SIGMA))
    if not 0 <= value <= 2:
        raise ValueError("the conversion noise sigma is between 0 and 2")
    return value


def binomial(n: int, p: float, u: float, v: float) -> int:
    """A Binomial(n, p) draw from two uniforms in [0, 1): `u` alone when the mean is small
    (inverse CDF, exact), `u` and `v` (a normal deviate by Box-Muller) when it is large."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    mean = n * p
    q = 1.0 - p
    if mean < BINOMIAL_EXACT_MEAN:
        pmf = q**n
        cdf, k, ratio = pmf, 0, p / q
        while u >= cdf and k < n:
            pmf *= (n - k) / (k + 1) * ratio
            k += 1
            cdf += pmf
            if pmf == 0.0:  # past the mass that floats can hold: the tail is empty
                break
        return k
    sd = math.sqrt(mean * q)
    z = math.sqrt(-2.0 * math.log(1.0 - u)) * math.cos(2.0 * math.pi * v)
    k = int(mean + sd * (z + (q - p) / sd * (z * z - 1.0) / 6.0) + 0.5)
    return 0 if k < 0 else n if k > n else k


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


@lru_cache(maxsize=64)
def _holidays(year: int) -> dict[int, tuple[float, float]]:
    """Calendar days of `year` shared by every seller, by ordinal."""
    days: dict[int, tuple[float, float]] = {}
    prime = _nth_weekday(year, 7, 1, 2)
    fall = _nth_weekday(year, 10, 1, 2)
    thanksgiving = _nth_weekday(year, 11, 3, 4)
    for first, effect in ((prime, PRIME_DAY), (fall, FALL_DEAL_DAYS)):
        days[first.toordinal()] = days[first.toordinal() + 1] = effect
    black_friday = thanksgiving.toordinal() + 1
    days[black_friday] = days[black_friday + 3] = BLACK_FRIDAY
    days[black_friday + 1] = days[black_friday + 2] = CYBER_WEEKEND
    days[date(year, 12, 25).toordinal()] = CHRISTMAS
    return days


def _promotion_days(seed: int, seller: int, monday: int) -> range:
    """The days of the seller's promotion starting in the week of `monday` (maybe none)."""
    u = units(3, seed, seller, monday, "promotion")
    if u[0] >= PROMOTION_WEEKLY_SHARE:
        return range(0)
    start = monday + int(u[1] * 7)
    return range(start, start + 2 + int(u[2] * 3))


@lru_cache(maxsize=16)
def _trend(seed: int, seller: int) -> tuple[float, float]:
    u = units(2, seed, seller, "trend")
    low, high = TREND_PERIOD_DAYS
    return low + u[0] * (high - low), 2 * math.pi * u[1]


@lru_cache(maxsize=16384)
def account_factor(seed: int, seller: int, day_ord: int) -> tuple[float, float]:
    """(sessions, conversion) multipliers of every product of `seller` on the day `day_ord`:
    holidays, paydays, the seller's promotions, a slow wave and, on conversion, a drift."""
    sessions, cvr = 1.0, 1.0
    day = date.fromordinal(day_ord)
    holiday = _holidays(day.year).get(day_ord)
    if holiday:
        sessions, cvr = holiday
    if day.day in (1, 15):
        sessions, cvr = sessions * PAYDAY[0], cvr * PAYDAY[1]
    elif day.day in (2, 16):
        sessions, cvr = sessions * (1 + PAYDAY[0]) / 2, cvr * (1 + PAYDAY[1]) / 2
    monday = day_ord - day.weekday()
    if day_ord in _promotion_days(seed, seller, monday) or day_ord in _promotion_days(
        seed, seller, monday - 7
    ):
        sessions, cvr = sessions * PROMOTION[0], cvr * PROMOTION[1]
    period, phase = _trend(seed, seller)
    wave = math.sin(2 * math.pi * day_ord / period + phase)
    drift = 0.0
    innovation = ACCOUNT_AR_SIGMA * math.sqrt(1 - ACCOUNT_AR_PHI**2)
    for k in range(ACCOUNT_AR_DAYS):
        u = units(2, seed, seller, day_ord - k, "account-drift")
        z = math.sqrt(-2.0 * math.log(1.0 - u[0])) * math.cos(2.0 * math.pi * u[1])
        drift += ACCOUNT_AR_PHI**k * innovation * z
    return (
        sessions * math.exp(TREND_SESSIONS * wave),
        cvr * math.exp(TREND_CVR * wave + drift),
    )
