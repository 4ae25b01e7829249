"""The seeded world: sellers, products, their change history and daily traffic.

A product's day is a pure function of (seed, seller, product, date) plus the
product's list of changes, so reports, orders, inventory and listings all read
the same numbers and any single day can be computed without the others.

Conversion model, per product and day:
    sessions = base × weekday × season × noise      (suppressed or inactive: ×0.05)
    cvr      = base_cvr × Π(content effects) × (price / launch price) ^ -elasticity
    units    = sessions × cvr × buy-box share        (0 while out of stock)
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from functools import lru_cache
from typing import Any

from . import catalog_lag, content
from .hashing import digest, units
from .scenarios import script_seller

HISTORY_DAYS = 730
# Amazon's Sales & Traffic numbers settle late: sales show within a day, sessions
# only after this many days (see reports.py).
SESSION_LAG_DAYS = 3
WEEKDAY_FACTOR = (0.95, 0.93, 0.95, 0.97, 1.0, 1.10, 1.10)  # Monday first
ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CONTENT_FIELDS = ("title", "description", "bullet", "image")


@dataclass(frozen=True)
class Marketplace:
    id: str
    name: str
    country_code: str
    currency: str
    language: str
    domain: str


US = Marketplace("ATVPDKIKX0DER", "Amazon.com", "US", "USD", "en_US", "www.amazon.com")


class Clock:
    """Simulated time: starts at `start`, runs at real speed, and can jump forward."""

    def __init__(self, start: datetime):
        self._start = start
        self._real_start = time.time()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.time() - self._real_start + self._offset)

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
        self._products: list[Product] | None = None
        # Products picked for one background change in their history (5%).
        self.background: list[int] = []
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
        products: list[Product] = []
        parent, left = "", 0
        prefixes = {
            b: "".join(w[0] for w in b.split()[:2]).upper().ljust(2, "X") for b in self.brands
        }
        for i in range(n):
            u = units(13, seed, s, i, "product")
            ids = _base36(digest(seed, s, i, "ids", size=31))
            if u[12] < 0.05:
                self.background.append(i)
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


class World:
    def __init__(
        self,
        *,
        seed: int = 42,
        sellers: int = 1,
        asins: int = 200,
        today: date | None = None,
    ):
        if not 5 <= asins <= 50_000:
            raise ValueError("a seller has between 5 and 50,000 products")
        if not 1 <= sellers <= 9:
            raise ValueError("between 1 and 9 sellers")
        self.seed = seed
        self.asin_count = asins
        self.day0 = today or datetime.now(UTC).date()
        self.clock = Clock(datetime.combine(self.day0, dtime(12, 0), tzinfo=UTC))
        self.marketplace = US
        self.catalog_lag = catalog_lag.CatalogLag.from_env()
        self.sellers = [Seller(self, i) for i in range(sellers)]
        self.lock = threading.RLock()

    def seller(self, seller_id: str) -> Seller | None:
        return next((s for s in self.sellers if s.id == seller_id), None)

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

    def state_on(self, product: Product, day: date) -> DayState:
        """The state that drives conversion on `day` (changes count from their own day)."""
        effect, price, quantity = 1.0, product.launch_price_cents, product.base_quantity
        active, issue, buy_box_lost = True, None, False
        for change in product.changes:
            if change.day > day:
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
            elif catalog_lag.shown_on(change, day):
                # Shoppers react to content once the detail page shows it.
                effect *= change.effect
        return DayState(effect, price, quantity, active, is_suppressing(issue), buy_box_lost)

    def price_effect(self, product: Product, old_cents: int, new_cents: int) -> float:
        return (new_cents / old_cents) ** -product.elasticity

    # -- daily numbers --------------------------------------------------------------

    def day_stats(self, seller: Seller, product: Product, day: date) -> DayStats:
        """The true traffic and sales of one product on one day."""
        u = units(8, self.seed, seller.index, product.index, day.toordinal())
        sessions_f = product.base_sessions * season_factor(day) * (0.75 + 0.5 * u[0])
        if product.changes:
            st = self.state_on(product, day)
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
            price, cvr, buy_box, in_stock = (
                product.launch_price_cents,
                product.base_cvr,
                100.0,
                True,
            )
        sessions = int(sessions_f + u[1])
        browser = int(sessions * (0.3 + 0.15 * u[2]) + 0.5)
        page_views = sessions + int(sessions * 0.5 * u[3] + 0.5)
        browser_pv = min(page_views, browser + int(browser * 0.5 * u[4] + 0.5))
        sold = int(sessions * min(cvr, 0.9) * buy_box / 100.0 + u[5]) if in_stock else 0
        doubles = min(sold // 2, int(sold * 0.08 + u[6]))
        return DayStats(
            sessions=sessions,
            browser_sessions=browser,
            page_views=page_views,
            browser_page_views=browser_pv,
            units=sold,
            order_items=sold - doubles,
            sales_cents=sold * price,
            buy_box_pct=buy_box,
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

    def ground_truth(self, seller: Seller | None = None) -> list[dict]:
        """Every change so far (scripted or made through the control API) and its true effect."""
        now = self.clock.now()
        rows = []
        for s in [seller] if seller else self.sellers:
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
                                else catalog_lag.shown_at(c).date().isoformat()
                            ),
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
