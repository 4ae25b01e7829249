"""The seeded world: sellers, products, their change history and daily traffic.

A product's day is a pure function of (seed, seller, product, date) plus the
product's list of changes, so reports, orders, inventory and listings all read
the same numbers and any single day can be computed without the others.

Conversion model, per product and day (the constants and their reasons are in noise.py):
    sessions = base × weekday × season × account_s × noise   (suppressed or inactive: ×0.05)
               noise: log-normal (sigma SESSION_SIGMA), 1% of days a spike of 1.5 to 4×
    cvr      = base_cvr × Π(content effects) × (price / launch price) ^ -elasticity
               × account_c × shock                             shock: log-normal, mean 1,
                                                               sigma SIM_CVR_NOISE (0.15)
    units    ~ Binomial(sessions, min(cvr, 0.9) × buy-box share)  (0 while out of stock)
account_s and account_c are the seller's day (noise.account_factor): holidays, paydays,
its promotions, a slow wave and, on conversion, an AR(1) drift. Ground truth's
multipliers are the content and price effects alone: the shocks average 1.

Each seller sells in several marketplaces of its region (MARKETPLACES): the first
one carries the whole catalogue at full traffic and the catalogue prices; the
others carry a hashed subset, smaller traffic and prices converted to their own
currency. Days are the marketplace's local business days (Amazon's Business
Reports day is "00:00:00 to 23:59:59 PT" for the US, sp-api-semantics.md §1).

Amazon revises units and sales for about a month (cancellations and returns,
sp-api-semantics.md §2 and §4): read `as_of` a date, a day's numbers still
include units that will be cancelled later, and converge to the final ones
REVISION_DAYS after the day.
"""

from __future__ import annotations

import math
import struct
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from functools import lru_cache
from hashlib import blake2b
from typing import Any
from zoneinfo import ZoneInfo

from . import catalog_lag, content, noise
from .hashing import digest, unit, units
from .scenarios import (
    background_count,
    background_product_share,
    change_rate_from_env,
    script_seller,
)

HISTORY_DAYS = 730
# Amazon's Sales & Traffic numbers settle late: sales show within a day, sessions
# only after this many days (see reports.py).
SESSION_LAG_DAYS = 3
# Units and sales of a day keep changing for this many days (sp-api-semantics.md §2:
# practitioners re-pull up to 35 days "to accommodate changes ... due to product
# returns and cancellations"); from this age on they are final.
REVISION_DAYS = 30
# Share of a day's units that the first pulls count but that are later cancelled or returned.
CANCEL_RATE = 0.06
WEEKDAY_FACTOR = (0.95, 0.93, 0.95, 0.97, 1.0, 1.10, 1.10)  # Monday first
ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_UNPACK12 = struct.Struct(">12I").unpack
_SCALE = 1.0 / 2**32  # as hashing.units
_TWO_PI_SCALE = 2 * math.pi * _SCALE
_SESSION_MEAN_FIX = noise.SESSION_SIGMA**2 / 2  # so the session noise averages 1
_SPIKE_SPAN = (noise.SPIKE_HIGH - noise.SPIKE_LOW) / noise.SPIKE_SHARE
CONTENT_FIELDS = ("title", "description", "bullet", "image")


@dataclass(frozen=True)
class Marketplace:
    id: str
    name: str
    country_code: str
    currency: str
    language: str
    domain: str
    time_zone: str  # the IANA zone of the marketplace's business day
    traffic: float = 1.0  # sessions relative to the seller's first marketplace
    price_factor: float = 1.0  # local price of one US dollar
    coverage: float = 1.0  # share of the catalogue offered when not the first marketplace
    # Amazon refuses GET_SALES_AND_TRAFFIC_REPORT in some marketplaces (IE, models#4718).
    sales_and_traffic: bool = True
    order_prefix: str = "11"  # first two digits of its order ids

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def day_of(self, moment: datetime) -> date:
        """The marketplace's business day that `moment` (aware) falls on."""
        return moment.astimezone(self.zone).date()

    def day_start(self, day: date) -> datetime:
        """The UTC instant at which the marketplace's `day` begins."""
        return _day_start(self.time_zone, day.toordinal())


@lru_cache(maxsize=8192)
def _day_start(time_zone: str, ordinal: int) -> datetime:
    local = datetime.combine(date.fromordinal(ordinal), dtime.min, tzinfo=ZoneInfo(time_zone))
    return local.astimezone(UTC)


# Amazon's ids, names, currencies and languages (developer-docs.amazon.com/sp-api/docs/
# marketplace-ids); zones as in cvrtracker/amazon/marketplaces.py (CA keeps Pacific time).
# traffic, price_factor and coverage are the simulator's own assumptions.
US = Marketplace(
    "ATVPDKIKX0DER", "Amazon.com", "US", "USD", "en_US", "www.amazon.com", "America/Los_Angeles"
)
CA = Marketplace(
    "A2EUQ1WTGCTBG2", "Amazon.ca", "CA", "CAD", "en_CA", "www.amazon.ca", "America/Los_Angeles",
    traffic=0.12, price_factor=1.39, coverage=0.8, order_prefix="70",
)  # fmt: skip
MX = Marketplace(
    "A1AM78C64UM0Y8", "Amazon.com.mx", "MX", "MXN", "es_MX", "www.amazon.com.mx",
    "America/Mexico_City", traffic=0.06, price_factor=17.9, coverage=0.6, order_prefix="71",
)  # fmt: skip
BR = Marketplace(
    "A2Q3Y263D00KWC", "Amazon.com.br", "BR", "BRL", "pt_BR", "www.amazon.com.br",
    "America/Sao_Paulo", price_factor=5.5, order_prefix="72",
)  # fmt: skip
DE = Marketplace(
    "A1PA6795UKMFR9", "Amazon.de", "DE", "EUR", "de_DE", "www.amazon.de", "Europe/Berlin",
    price_factor=0.93, order_prefix="30",
)  # fmt: skip
FR = Marketplace(
    "A13V1IB3VIYZZH", "Amazon.fr", "FR", "EUR", "fr_FR", "www.amazon.fr", "Europe/Paris",
    traffic=0.55, price_factor=0.95, coverage=0.75, order_prefix="40",
)  # fmt: skip
IT = Marketplace(
    "APJ6JRA9NG5V4", "Amazon.it", "IT", "EUR", "it_IT", "www.amazon.it", "Europe/Rome",
    traffic=0.45, price_factor=0.94, coverage=0.7, order_prefix="41",
)  # fmt: skip
ES = Marketplace(
    "A1RKKUPIHCS9HS", "Amazon.es", "ES", "EUR", "es_ES", "www.amazon.es", "Europe/Madrid",
    traffic=0.4, price_factor=0.92, coverage=0.65, order_prefix="42",
)  # fmt: skip
GB = Marketplace(
    "A1F83G8C2ARO7P", "Amazon.co.uk", "GB", "GBP", "en_GB", "www.amazon.co.uk", "Europe/London",
    traffic=0.7, price_factor=0.8, coverage=0.8, order_prefix="20",
)  # fmt: skip
IE = Marketplace(
    "A28R8C7NBKEWEA", "Amazon.ie", "IE", "EUR", "en_IE", "www.amazon.ie", "Europe/Dublin",
    traffic=0.05, price_factor=0.95, coverage=0.6, sales_and_traffic=False, order_prefix="21",
)  # fmt: skip
# What getMarketplaceParticipations returns beside the real marketplaces: the
# "Non-Amazon" entry of multi-channel fulfilment (models#1367, docs#1260).
NON_AMAZON = Marketplace("A2ZV50J4W1RKNI", "Non-Amazon", "US", "USD", "en_US", "", "UTC")

MARKETPLACES: dict[str, Marketplace] = {m.id: m for m in (US, CA, MX, BR, DE, FR, IT, ES, GB, IE)}
# Seller 0 (and every even one) is North American, every odd one European.
REGION_MARKETPLACES = {"NA": (US, CA, MX), "EU": (DE, FR, IT, ES, GB, IE)}
# Sites the seller never opened that Amazon still reports as isParticipating (docs#254).
UNOPENED = {"NA": (BR,), "EU": ()}


class Clock:
    """Simulated time: starts at `start`, runs at real speed, and can jump forward.

    A clock started `behind` its present (a world replayed from the past) shows
    `start` at first while its present is `start + behind`; jumps catch it up.
    """

    def __init__(self, start: datetime, behind: timedelta = timedelta(0)):
        self._start = start
        self._behind = behind.total_seconds()
        self._real_start = time.time()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.time() - self._real_start + self._offset)

    def present(self) -> datetime:
        """The instant the clock shows once it has caught up (now, if it never was behind)."""
        elapsed = time.time() - self._real_start
        return self._start + timedelta(seconds=elapsed + max(self._behind, self._offset))

    def today(self) -> date:
        return self.now().date()

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the simulated clock only moves forward")
        with self._lock:
            self._offset += seconds
        return self.now()


@dataclass
class Change:
    """One dated change to a listing, with its true effect on conversion."""

    at: datetime
    field: str  # title, bullet:<i>, description, image:<variant>, price, quantity, ...
    value: Any
    old: Any
    effect: float  # multiplier on conversion from that day on (content and price)
    source: str  # "scripted", "control" or "contributor" (catalog only, see catalog_lag)
    note: str = ""
    # When the detail page (catalog) shows it, and whether it never does: see catalog_lag.
    catalog_at: datetime | None = None
    loses: bool = False

    @property
    def day(self) -> date:
        """The UTC date; use `Marketplace.day_of(change.at)` for a marketplace's day."""
        return self.at.date()


@dataclass(slots=True)
class Product:
    index: int
    asin: str
    sku: str
    fnsku: str
    parent_asin: str
    brand: str
    category: content.Category
    launch_price_cents: int
    base_sessions: float
    base_cvr: float
    elasticity: float
    fba: bool
    base_quantity: int
    image_count: int
    created: datetime
    changes: list[Change] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DayState:
    effect: float
    price_cents: int
    quantity: int
    active: bool
    suppressed: bool
    buy_box_lost: bool


@dataclass(frozen=True, slots=True)
class DayStats:
    sessions: int
    browser_sessions: int
    page_views: int
    browser_page_views: int
    units: int
    order_items: int
    sales_cents: int
    buy_box_pct: float
    # Units among `units` that will still be cancelled or returned (0 once final).
    pending_units: int = 0


# A product not offered in a marketplace: nothing at all.
NO_DAY = DayStats(0, 0, 0, 0, 0, 0, 0, 0.0)


def _code(length: int, *parts: object) -> str:
    return _base36(digest(*parts, size=length))


# Maps each byte to one of 36 characters; the slight bias towards the first four
# does not matter for identifiers.
_BYTE_TO_ALNUM = bytes(ord(ALNUM[b % 36]) for b in range(256))


def _base36(raw: bytes) -> str:
    return raw.translate(_BYTE_TO_ALNUM).decode()


@lru_cache(maxsize=4096)
def season_factor(day: date) -> float:
    """Weekly rhythm times a Q4 peak around mid-December."""
    doy = day.timetuple().tm_yday
    return WEEKDAY_FACTOR[day.weekday()] * (1 + 0.35 * math.exp(-(((doy - 345) / 25) ** 2)))


def _noon(day: date) -> datetime:
    return datetime.combine(day, dtime(10, 0), tzinfo=UTC)


def cancel_offset(j: int, cancelled: int, day_ord: int, product_index: int) -> int:
    """The day after its order's day (1..REVISION_DAYS-2) on which the j-th of a product-day's
    `cancelled` later-cancelled orders is cancelled: spread evenly, with a phase that varies
    by product and day, so even a lone cancellation can come early or late."""
    phase = (day_ord * 7 + product_index * 13) % (REVISION_DAYS - 2)
    return 1 + ((REVISION_DAYS - 2) * j + phase) // cancelled


def pending_units(cancelled: int, age: int, day_ord: int, product_index: int) -> int:
    """How many of a product-day's `cancelled` units a report read `age` days after the day
    still counts: those cancelled on that day or later (none from REVISION_DAYS - 1 on)."""
    if age <= 1:
        return cancelled
    return sum(
        1 for j in range(cancelled) if cancel_offset(j, cancelled, day_ord, product_index) >= age
    )


def is_suppressing(issue: dict | None) -> bool:
    if not issue or issue.get("severity") != "ERROR":
        return False
    actions = (issue.get("enforcements") or {}).get("actions") or []
    return any(a.get("action") in ("SEARCH_SUPPRESSED", "LISTING_SUPPRESSED") for a in actions)


class Seller:
    def __init__(self, world: World, index: int):
        self.world = world
        self.index = index
        seed = world.seed
        self.id = "A" + _code(13, seed, "seller", index)
        self.store_name = content.brand_for(seed, index, 0) + " Store"
        self.brands = [content.brand_for(seed, index, b) for b in range(3)]
        self.region = "NA" if index % 2 == 0 else "EU"
        # The marketplaces it sells in; the first carries the whole catalogue.
        self.marketplaces: tuple[Marketplace, ...] = REGION_MARKETPLACES[self.region][
            : world.marketplace_limit
        ]
        self.home = self.marketplaces[0]
        self._offered: dict[str, bytes] = {}
        self._products: list[Product] | None = None
        # Products with background changes in their history, and how many (scenarios.py).
        self.background: dict[int, int] = {}
        self.by_sku: dict[str, Product] = {}
        self.by_asin: dict[str, Product] = {}
        self._lock = threading.Lock()

    @property
    def products(self) -> list[Product]:
        """The catalogue, built on first use (one hash per product, no copy text)."""
        if self._products is None:
            with self._lock:
                if self._products is None:
                    products = self._build_products()
                    self.by_sku = {p.sku: p for p in products}
                    self.by_asin = {p.asin: p for p in products}
                    script_seller(self.world, self, products)
                    # Published last, so other threads never see a half-built seller.
                    self._products = products
        return self._products

    def _build_products(self) -> list[Product]:
        seed, s, n = self.world.seed, self.index, self.world.asin_count
        day0 = self.world.day0
        background_share = background_product_share(self.world.change_rate)
        products: list[Product] = []
        parent, left = "", 0
        prefixes = {
            b: "".join(w[0] for w in b.split()[:2]).upper().ljust(2, "X") for b in self.brands
        }
        for i in range(n):
            u = units(13, seed, s, i, "product")
            ids = _base36(digest(seed, s, i, "ids", size=31))
            if u[12] < background_share:
                self.background[i] = background_count(self.world.change_rate, u[12])
            asin = "B0" + ids[:8]
            if left == 0:
                left = 1 if u[0] < 0.6 else 2 + int(u[1] * 3)
                parent = asin if left == 1 else "B0" + ids[8:16]
            left -= 1
            cat = content.CATEGORIES[int(u[8] * len(content.CATEGORIES))]
            low, high = cat.price_range
            brand = self.brands[int(u[2] * len(self.brands))]
            # Sessions are log-normal: most products see a few dozen a day, a few see hundreds.
            z = math.sqrt(-2 * math.log(1 - u[3])) * math.cos(2 * math.pi * u[4])
            products.append(
                Product(
                    index=i,
                    asin=asin,
                    sku=f"{prefixes[brand]}-{ids[16:20]}-{ids[20:24]}",
                    fnsku="X00" + ids[24:31],
                    parent_asin=parent,
                    brand=brand,
                    category=cat,
                    launch_price_cents=int(low + u[5] * (high - low)) * 100 + 99,
                    base_sessions=math.exp(3.0 + 0.9 * z),
                    base_cvr=0.05 + 0.13 * u[6],
                    elasticity=1.0 + 1.5 * u[7],
                    fba=i == 4 or u[9] < 0.8,
                    base_quantity=20 + int(u[10] * 480),
                    image_count=3 + int(u[11] * 4),
                    created=_noon(day0 - timedelta(days=HISTORY_DAYS + int(u[0] * 600))),
                )
            )
        return products

    def product(self, sku: str) -> Product | None:
        self.products  # noqa: B018 - builds the index on first use
        return self.by_sku.get(sku)

    def product_by_asin(self, asin: str) -> Product | None:
        self.products  # noqa: B018
        return self.by_asin.get(asin)

    def marketplace(self, marketplace_id: str) -> Marketplace | None:
        """One of the marketplaces this seller sells in, or None."""
        return next((m for m in self.marketplaces if m.id == marketplace_id), None)

    def offers(self, product: Product, marketplace: Marketplace) -> bool:
        """Whether `product` is listed in `marketplace` (always in the first one)."""
        if marketplace is self.home:
            return True
        flags = self._offered.get(marketplace.id)
        if flags is None:
            flags = self._offer_flags(marketplace)
        return bool(flags[product.index])

    def _offer_flags(self, marketplace: Marketplace) -> bytes:
        # One hash per product, once per marketplace, and only when that marketplace is asked
        # about. The first ten products (the scripted stories) are offered everywhere it sells.
        if marketplace not in self.marketplaces:
            flags = bytes(len(self.products))
        else:
            seed, s, share = self.world.seed, self.index, marketplace.coverage
            flags = bytes(
                p.index < 10 or unit(seed, s, p.index, marketplace.id, "offered") < share
                for p in self.products
            )
        self._offered[marketplace.id] = flags
        return flags

    def local_price(self, cents: int, marketplace: Marketplace) -> int:
        """A catalogue price (in the first marketplace's currency) in `marketplace`'s, at .99."""
        if marketplace is self.home:
            return cents
        converted = cents * marketplace.price_factor / self.home.price_factor
        return max(99, round(converted / 100) * 100 - 1)


class World:
    def __init__(
        self,
        *,
        seed: int = 42,
        sellers: int = 1,
        asins: int = 200,
        today: date | None = None,
        marketplaces: int | None = None,
        cvr_noise: float | None = None,
        change_rate: float | None = None,
        start_days_ago: int = 0,
    ):
        """`marketplaces` caps how many of its region's marketplaces each seller sells in
        (None: all of them; 1: a single-marketplace world, as cheap as before).
        `cvr_noise` is the sigma of each product-day's conversion shock (None:
        SIM_CVR_NOISE or 0.15), `change_rate` the background content changes per product
        and year (None: SIM_CHANGE_RATE or the historical default, scenarios.py).

        `start_days_ago` starts the clock that many days before `today` (the day the
        scripted stories and the history are anchored on), so that a replay can live
        through those days (see the README: the demo replays 90 days)."""
        if not 5 <= asins <= 50_000:
            raise ValueError("a seller has between 5 and 50,000 products")
        if not 1 <= sellers <= 9:
            raise ValueError("between 1 and 9 sellers")
        if marketplaces is not None and marketplaces < 1:
            raise ValueError("a seller sells in at least one marketplace")
        if not 0 <= start_days_ago <= HISTORY_DAYS:
            raise ValueError(f"the clock starts between 0 and {HISTORY_DAYS} days ago")
        self.marketplace_limit = marketplaces
        self.cvr_noise = noise.cvr_noise_from_env(cvr_noise)
        self.change_rate = change_rate_from_env(change_rate)
        self.seed = seed
        self.asin_count = asins
        # A given first day starts at its noon (tests: the same numbers on any run day).
        # Without one the clock is the real one (until moved): a client that sends the wall
        # clock's "now" where Amazon wants a past moment (searchOrders' createdBefore) is
        # refused here as on Amazon, and a tracker on the system clock agrees with it.
        started = datetime.now(UTC)
        self.day0 = today or started.date()
        if today is not None:
            started = datetime.combine(today, dtime(12, 0), tzinfo=UTC)
        behind = timedelta(days=start_days_ago)
        self.clock = Clock(started - behind, behind)
        # The default marketplace of views that know only one (seller 0's first).
        self.marketplace = US
        self.catalog_lag = catalog_lag.CatalogLag.from_env()
        self.sellers = [Seller(self, i) for i in range(sellers)]
        self.lock = threading.RLock()

    def seller(self, seller_id: str) -> Seller | None:
        return next((s for s in self.sellers if s.id == seller_id), None)

    def today(self, marketplace: Marketplace | None = None) -> date:
        """The marketplace's current local day (still running, never complete)."""
        return (marketplace or self.marketplace).day_of(self.clock.now())

    # -- copy and state at a moment -------------------------------------------------

    def base_copy(self, seller: Seller, product: Product) -> dict:
        return content.base_copy(
            self.seed, seller.index, product.index, product.brand, product.category
        )

    def image(self, seller: Seller, product: Product, variant: str, version: int = 0) -> str:
        return content.image_id(self.seed, seller.index, product.index, variant, version)

    @staticmethod
    def value_at(product: Product, name: str, when: datetime, default: Any) -> Any:
        value = default
        for change in product.changes:
            if change.at > when:
                break
            if change.field == name:
                value = change.value
        return value

    def listing_at(self, seller: Seller, product: Product, when: datetime) -> dict:
        """Title, bullets, description, images, price, quantity, status and issues at `when`."""
        copy = self.base_copy(seller, product)
        images = {"MAIN": self.image(seller, product, "MAIN")}
        for k in range(1, product.image_count):
            images[f"PT{k:02d}"] = self.image(seller, product, f"PT{k:02d}")
        bullets = list(copy["bullets"])
        listing = {
            "title": copy["title"],
            "description": copy["description"],
            "price_cents": product.launch_price_cents,
            "quantity": product.base_quantity,
            "status": "ACTIVE",
            "issue": None,
            "buy_box": "WON",
            "last_updated": product.created,
        }
        for change in product.changes:
            if change.at > when:
                break
            if not catalog_lag.seller_side(change):
                continue
            kind, _, arg = change.field.partition(":")
            if kind == "bullet":
                bullets[int(arg)] = change.value
            elif kind == "image":
                images[arg] = change.value
            elif kind == "price":
                listing["price_cents"] = change.value
            else:
                listing[kind] = change.value
            listing["last_updated"] = change.at
        listing.update(bullets=bullets, images=images, copy=copy)
        return listing

    def state_on(
        self, product: Product, day: date, marketplace: Marketplace | None = None
    ) -> DayState:
        """The state that drives conversion on `day`, a local day of `marketplace` (None: the
        world's default): a change counts from the marketplace day it was made on."""
        effect, price, quantity = 1.0, product.launch_price_cents, product.base_quantity
        active, issue, buy_box_lost = True, None, False
        end = (marketplace or self.marketplace).day_start(day + timedelta(days=1))
        for change in product.changes:
            if change.at >= end:
                break
            if change.field == "price":
                price = change.value
            elif change.field == "quantity":
                quantity = change.value
            elif change.field == "status":
                active = change.value == "ACTIVE"
            elif change.field == "issue":
                issue = change.value
            elif change.field == "buy_box":
                buy_box_lost = change.value == "LOST"
            elif catalog_lag.shown_before(change, end):
                # Shoppers react to content from the marketplace day the detail page shows it.
                effect *= change.effect
        return DayState(effect, price, quantity, active, is_suppressing(issue), buy_box_lost)

    def price_effect(self, product: Product, old_cents: int, new_cents: int) -> float:
        return (new_cents / old_cents) ** -product.elasticity

    # -- daily numbers --------------------------------------------------------------

    def day_stats(
        self,
        seller: Seller,
        product: Product,
        day: date,
        marketplace: Marketplace | None = None,
        as_of: date | None = None,
    ) -> DayStats:
        """The traffic and sales of one product on `day`, a local day of `marketplace` (None:
        the seller's first), as read on the local day `as_of` (None: final, settled values).

        Read before they settle, units and sales include the units that will be cancelled
        or returned within REVISION_DAYS, and traffic of the last SESSION_LAG_DAYS is 0.
        """
        market = marketplace or seller.home
        day_ord = day.toordinal()
        # units(8, seed, seller, product, day[, marketplace]) inlined: this is the hot path of
        # a 50,000-product report. The first marketplace keeps the single-marketplace numbers.
        if market is seller.home:
            key = b"%d|%d|%d|%d" % (self.seed, seller.index, product.index, day_ord)
            scale = 1.0
        elif not seller.offers(product, market):
            return NO_DAY
        else:
            key = b"%d|%d|%d|%d|%s" % (
                self.seed,
                seller.index,
                product.index,
                day_ord,
                market.id.encode(),
            )
            scale = market.traffic
        u0, u1, u2, u3, u4, u5, u6, u7, u8, u9, _, u11 = _UNPACK12(
            blake2b(key, digest_size=48).digest()
        )
        # Two independent normals (Box-Muller): the day's session noise and conversion shock.
        radius = math.sqrt(-2.0 * math.log(1.0 - u8 * _SCALE))
        angle = _TWO_PI_SCALE * u9
        traffic = math.exp(noise.SESSION_SIGMA * radius * math.cos(angle) - _SESSION_MEAN_FIX)
        spike = u0 * _SCALE
        if spike < noise.SPIKE_SHARE:
            traffic *= noise.SPIKE_LOW + _SPIKE_SPAN * spike
        account_s, account_c = noise.account_factor(self.seed, seller.index, day_ord)
        sessions_f = product.base_sessions * scale * season_factor(day) * account_s * traffic
        sigma = self.cvr_noise
        shock = account_c * math.exp(sigma * radius * math.sin(angle) - 0.5 * sigma * sigma)
        if product.changes:
            st = self.state_on(product, day, market)
            price = st.price_cents
            cvr = product.base_cvr * st.effect
            if price != product.launch_price_cents:
                cvr *= self.price_effect(product, product.launch_price_cents, price)
            if not st.active or st.suppressed:
                sessions_f *= 0.05
                cvr = 0.0
            in_stock = st.quantity > 0
            buy_box = 0.0 if not in_stock else (15.0 if st.buy_box_lost else 100.0)
        else:
            price, cvr = product.launch_price_cents, product.base_cvr
            buy_box, in_stock = 100.0, True
        if market is not seller.home:
            price = seller.local_price(price, market)
        sessions = int(sessions_f + u1 * _SCALE)
        if in_stock and cvr > 0.0:
            p = min(cvr * shock, noise.CVR_CAP) * buy_box / 100.0
            sold = noise.binomial(sessions, p, u5 * _SCALE, u11 * _SCALE)
        else:
            sold = 0
        doubles = min(sold // 2, int(sold * 0.08 + u6 * _SCALE))
        pending = 0
        if as_of is not None:
            age = as_of.toordinal() - day_ord
            if age < REVISION_DAYS:
                cancelled = int(sold * CANCEL_RATE + u7 * _SCALE)
                if cancelled:
                    pending = pending_units(cancelled, age, day_ord, product.index)
            if age <= SESSION_LAG_DAYS:
                # Sales show within a day, sessions and page views only days later (models#2955).
                total = sold + pending
                return DayStats(0, 0, 0, 0, total, total - doubles, total * price, buy_box, pending)
        browser = int(sessions * (0.3 + 0.15 * _SCALE * u2) + 0.5)
        page_views = sessions + int(sessions * 0.5 * _SCALE * u3 + 0.5)
        total = sold + pending
        return DayStats(
            sessions,
            browser,
            page_views,
            min(page_views, browser + int(browser * 0.5 * _SCALE * u4 + 0.5)),
            total,
            total - doubles,
            total * price,
            buy_box,
            pending,
        )

    # -- changes --------------------------------------------------------------------

    def add_change(
        self,
        seller: Seller,
        product: Product,
        *,
        name: str,
        value: Any,
        at: datetime,
        effect: float | None = None,
        source: str = "control",
        note: str = "",
        catalog_delay: timedelta | None = None,
        loses: bool | None = None,
    ) -> Change:
        """Record a change at `at`; price changes get their elasticity effect computed.

        Content changes reach the catalog after `catalog_delay`, or never when
        `loses` (both drawn from the seed when None; see catalog_lag).
        """
        with self.lock:
            before = self.listing_at(seller, product, at)
            kind, _, arg = name.partition(":")
            if kind == "bullet":
                old = before["bullets"][int(arg)]
            elif kind == "image":
                old = before["images"].get(arg)
            elif kind == "price":
                old = before["price_cents"]
            else:
                old = before.get(kind)
            if kind == "price":
                effect = self.price_effect(product, old, value)
            elif kind not in CONTENT_FIELDS:
                effect = 1.0
            catalog_at, lost = catalog_lag.catalog_timing(
                self, seller, product, name=name, at=at, delay=catalog_delay, loses=loses
            )
            effect = 1.0 if effect is None else effect
            change = Change(at, name, value, old, effect, source, note, catalog_at, lost)
            # A new list, swapped in whole, so readers on other threads never see it half-sorted.
            product.changes = sorted([*product.changes, change], key=lambda c: c.at)
            return change

    def ground_truth(
        self, seller: Seller | None = None, marketplace: Marketplace | None = None
    ) -> list[dict]:
        """Every change so far (scripted or made through the control API) and its true effect;
        effectiveDate is the local day of `marketplace` (None: each seller's first) it counts
        from."""
        now = self.clock.now()
        rows = []
        for s in [seller] if seller else self.sellers:
            market = marketplace or s.home
            for p in s.products:
                for c in p.changes:
                    if c.at > now:
                        continue
                    rows.append(
                        {
                            "sellerId": s.id,
                            "sku": p.sku,
                            "asin": p.asin,
                            "at": c.at.isoformat().replace("+00:00", "Z"),
                            # The first day shoppers saw it (null: never, the edit lost).
                            "effectiveDate": (
                                None
                                if catalog_lag.shown_at(c) is None
                                else market.day_of(catalog_lag.shown_at(c)).isoformat()
                            ),
                            "marketplaceId": market.id,
                            "field": c.field,
                            "old": c.old,
                            "new": c.value,
                            "source": c.source,
                            "conversionMultiplier": round(c.effect, 4),
                            "conversionChangePct": round((c.effect - 1) * 100, 2),
                            "note": c.note,
                            # When the detail page showed it (null: another contribution won).
                            "catalogAt": (
                                None
                                if catalog_lag.shown_at(c) is None
                                else catalog_lag.shown_at(c).isoformat().replace("+00:00", "Z")
                            ),
                            "reachesCatalog": not c.loses,
                        }
                    )
        rows.sort(key=lambda r: r["at"])
        return rows
