"""The seeded world: determinism and the conversion model's causes."""

from __future__ import annotations

from datetime import date, timedelta

from cvrtracker.simulator.reports import build_sales_and_traffic
from cvrtracker.simulator.world import World

TODAY = date(2026, 11, 29)


def _window(world: World, index: int, first: int, last: int) -> list:
    seller = world.sellers[0]
    product = seller.products[index]
    return [
        world.day_stats(seller, product, TODAY + timedelta(days=d)) for d in range(first, last + 1)
    ]


def test_it_is_deterministic_for_a_seed():
    def report(seed: int) -> bytes:
        world = World(seed=seed, asins=30, today=TODAY)
        return build_sales_and_traffic(
            world,
            world.sellers[0],
            start=date(2026, 10, 1),
            end=date(2026, 10, 31),
            date_granularity="DAY",
            asin_granularity="SKU",
            as_of=TODAY,
        )

    assert report(7) == report(7)
    assert report(7) != report(8)


def test_products_look_like_amazon_listings():
    world = World(seed=3, asins=50, today=TODAY)
    seller = world.sellers[0]
    skus = {p.sku for p in seller.products}
    assert len(skus) == 50
    for product in seller.products:
        assert len(product.asin) == 10 and product.asin.startswith("B0")
        listing = world.listing_at(seller, product, world.clock.now())
        assert product.brand in listing["title"]
        assert len(listing["bullets"]) == 5
        assert 9_00 <= product.launch_price_cents <= 100_00
        assert "MAIN" in listing["images"]


def test_a_stock_out_zeroes_units_while_sessions_go_on():
    world = World(seed=5, asins=20, today=TODAY)
    during = _window(world, 4, -24, -16)  # the scripted stock-out runs from day -25 to -15
    assert sum(s.units for s in during) == 0
    assert all(s.sessions > 0 for s in during)
    assert sum(s.units for s in _window(world, 4, -14, -1)) > 0


def test_a_main_image_change_lifts_conversion_as_the_ground_truth_says():
    world = World(seed=11, asins=20, today=TODAY)
    seller = world.sellers[0]
    truth = [t for t in world.ground_truth() if t["sku"] == seller.products[0].sku]
    assert truth[0]["field"] == "image:MAIN"
    assert truth[0]["conversionMultiplier"] == 1.25
    product = seller.products[0]
    before = world.state_on(product, TODAY - timedelta(days=61))
    after = world.state_on(product, TODAY - timedelta(days=59))
    assert (before.effect, after.effect) == (1.0, 1.25)


def test_a_price_cut_raises_conversion_by_elasticity():
    world = World(seed=11, asins=20, today=TODAY)
    product = world.sellers[0].products[3]
    (change,) = [c for c in product.changes if c.field == "price"]
    assert change.value < change.old
    assert change.effect == (change.value / change.old) ** -product.elasticity > 1


def test_a_lost_buy_box_cuts_units():
    world = World(seed=2, asins=20, today=TODAY)
    lost = _window(world, 5, -11, -6)
    assert all(s.buy_box_pct == 15.0 for s in lost)
    assert all(s.buy_box_pct == 100.0 for s in _window(world, 5, -4, -1))


def test_a_suppressed_listing_sells_nothing_and_is_barely_seen():
    world = World(seed=2, asins=20, today=TODAY)
    suppressed = _window(world, 6, -19, -15)
    normal = _window(world, 6, -40, -30)
    assert sum(s.units for s in suppressed) == 0
    assert max(s.sessions for s in suppressed) < min(s.sessions for s in normal) or (
        sum(s.sessions for s in suppressed) * 5 < sum(s.sessions for s in normal)
    )


def test_future_scripted_changes_appear_when_the_clock_reaches_them():
    world = World(seed=2, asins=20, today=TODAY)
    product = world.sellers[0].products[9]
    assert all(t["sku"] != product.sku for t in world.ground_truth())
    world.clock.advance(3 * 86400)
    assert any(t["sku"] == product.sku and t["field"] == "title" for t in world.ground_truth())


def test_weekends_bring_more_sessions_than_weekdays():
    world = World(seed=4, asins=200, today=TODAY)
    seller = world.sellers[0]
    saturday, tuesday = date(2026, 10, 3), date(2026, 10, 6)

    def total(day):
        return sum(world.day_stats(seller, p, day).sessions for p in seller.products)

    assert total(saturday) > total(tuesday)
