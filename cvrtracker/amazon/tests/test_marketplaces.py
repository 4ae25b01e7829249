from datetime import UTC, date, datetime

from cvrtracker.amazon.marketplaces import (
    day_start,
    is_amazon_marketplace,
    marketplace_day,
    marketplace_today,
    report_instant,
    zone,
)

US, DE, JP, AU = "ATVPDKIKX0DER", "A1PA6795UKMFR9", "A1VC38T7YXB528", "A39IBJ37TRP1C6"


def test_it_keeps_the_us_day_running_past_utc_midnight():
    # 03:00 UTC on 1 March is still 28 February in California.
    moment = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
    assert marketplace_today(US, moment) == date(2026, 2, 28)
    assert marketplace_day(DE, moment) == date(2026, 3, 1)


def test_it_starts_the_german_day_before_utc_midnight():
    # 23:30 UTC on 30 June is already 1 July in Berlin (summer time).
    moment = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)
    assert marketplace_day(DE, moment) == date(2026, 7, 1)
    assert marketplace_day(US, moment) == date(2026, 6, 30)


def test_a_day_starts_at_local_midnight():
    assert day_start(US, date(2026, 1, 15)) == datetime(2026, 1, 15, 8, 0, tzinfo=UTC)
    assert day_start(US, date(2026, 7, 15)) == datetime(2026, 7, 15, 7, 0, tzinfo=UTC)


def test_the_report_instant_is_the_same_date_in_every_zone():
    for day in (date(2026, 1, 1), date(2026, 7, 1), date(2026, 3, 29), date(2026, 11, 1)):
        instant = datetime.fromisoformat(report_instant(day).replace("Z", "+00:00"))
        for market in (US, DE, JP, AU):
            assert instant.astimezone(zone(market)).date() == day, (market, day)


def test_non_amazon_ids_are_not_marketplaces():
    assert is_amazon_marketplace(US)
    assert not is_amazon_marketplace("A2ZV50J4W1RKNI")  # Non-Amazon
