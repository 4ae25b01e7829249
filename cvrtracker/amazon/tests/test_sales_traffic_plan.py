"""The Sales & Traffic plan: marketplace days, the report window, the taper, the order."""

from datetime import UTC, date, datetime, timedelta

import time_machine
from django.test import override_settings
from django.utils import timezone

from cvrtracker.amazon.marketplaces import marketplace_today
from cvrtracker.amazon.models import LISTED, ST_REFUSED, SalesTrafficDay, SellerConnection
from cvrtracker.amazon.sync.sales_traffic import (
    RETIRED,
    due_to_request,
    listed_marketplace_ids,
    marketplace_ids,
    sales_traffic_marketplace_ids,
    sales_traffic_plan,
)
from cvrtracker.test import BaseTestCase

US, CA, MX, DE, IE, BR = (
    "ATVPDKIKX0DER",
    "A2EUQ1WTGCTBG2",
    "A1AM78C64UM0Y8",
    "A1PA6795UKMFR9",
    "A28R8C7NBKEWEA",
    "A2Q3Y263D00KWC",
)
NON_AMAZON = "A2ZV50J4W1RKNI"  # "Non-Amazon" in getMarketplaceParticipations (docs#254)


def market(marketplace_id: str, **extra) -> dict:
    """A marketplace entry as the marketplaces sync and a listings run leave it."""
    entry = {"id": marketplace_id, "name": marketplace_id, "isParticipating": True, LISTED: 5}
    return {**entry, **extra}


def connection_in(team, *marketplaces: dict, seller_id: str = "A1PLAN") -> SellerConnection:
    connection = SellerConnection(
        team=team, region="NA", selling_partner_id=seller_id, marketplaces=list(marketplaces)
    )
    connection.create_data_key()
    connection.save()
    return connection


def newest_day(connection: SellerConnection, marketplace_id: str) -> date:
    return (
        SalesTrafficDay.objects.filter(connection=connection, marketplace_id=marketplace_id)
        .order_by("-day")
        .values_list("day", flat=True)
        .first()
    )


def fetch_due(connection: SellerConnection) -> int:
    """Pretend every due report came back, as Amazon's would: traffic pending for 3 days."""
    due = list(SalesTrafficDay.objects.filter(connection=connection, status="due"))
    now = timezone.now()
    for row in due:
        age = (marketplace_today(row.marketplace_id, now) - row.day).days
        row.status, row.fetched_at, row.pulled_age = "done", now, age
        row.is_pending = age <= 3
        row.save()
    return len(due)


class MarketplacesTestCase(BaseTestCase):
    def test_only_amazon_marketplaces_where_the_seller_takes_part_and_reports_are_allowed(self):
        # Orders and listings of a marketplace that refuses the report are still synced.
        connection = connection_in(
            self.team,
            market(US),
            market(NON_AMAZON),
            market(BR, isParticipating=False),
            market(CA),
            market(IE, **{ST_REFUSED: "Amazon does not offer this report here (400 InvalidInput)"}),
            market(MX, **{LISTED: 0}),  # participating, nothing listed (docs#254)
            market(DE, **{LISTED: None}),  # no listings run yet
        )
        assert marketplace_ids(connection) == [US, CA, IE, MX, DE]
        assert sales_traffic_marketplace_ids(connection) == [US, CA, DE]
        assert listed_marketplace_ids(connection) == [US, CA]  # Data Kiosk names the ASINs
        sales_traffic_plan(connection=connection)
        assert set(SalesTrafficDay.objects.values_list("marketplace_id", flat=True)) == {
            US,
            CA,
            DE,
        }


class MarketplaceDaysTestCase(BaseTestCase):
    def plan_at(self, moment: datetime, *marketplaces: str) -> SellerConnection:
        SalesTrafficDay.objects.all().delete()
        SellerConnection.objects.all().delete()
        connection = connection_in(self.team, *(market(m) for m in marketplaces))
        with time_machine.travel(moment, tick=False):
            sales_traffic_plan(connection=connection)
        return connection

    def test_yesterday_in_the_us_is_requested_only_once_the_pacific_day_has_ended(self):
        # 03:00 UTC on 10 March is 20:00 on 9 March in Los Angeles (PDT since 8 March).
        connection = self.plan_at(datetime(2026, 3, 10, 3, 0, tzinfo=UTC), US)
        assert newest_day(connection, US) == date(2026, 3, 8)
        # 06:59 UTC is 23:59 PDT: still the 9th.
        connection = self.plan_at(datetime(2026, 3, 10, 6, 59, tzinfo=UTC), US)
        assert newest_day(connection, US) == date(2026, 3, 8)
        # 07:00 UTC is midnight in Los Angeles: the 9th is complete.
        connection = self.plan_at(datetime(2026, 3, 10, 7, 0, tzinfo=UTC), US)
        assert newest_day(connection, US) == date(2026, 3, 9)

    def test_a_german_day_ends_before_the_utc_day(self):
        # 22:59 UTC on 9 March is 23:59 in Berlin (CET): the 9th is not over yet.
        connection = self.plan_at(datetime(2026, 3, 9, 22, 59, tzinfo=UTC), DE)
        assert newest_day(connection, DE) == date(2026, 3, 8)
        # 23:00 UTC is midnight in Berlin, while UTC and the US are still on the 9th.
        connection = self.plan_at(datetime(2026, 3, 9, 23, 0, tzinfo=UTC), DE, US)
        assert newest_day(connection, DE) == date(2026, 3, 9)
        assert newest_day(connection, US) == date(2026, 3, 8)


# The daily plan alone: the one range report on connect is test_sales_traffic_quick.py's.
@override_settings(AMAZON_QUICK_TOTALS=False)
class PlanWindowTestCase(BaseTestCase):
    def test_it_plans_the_last_thirty_marketplace_days_and_no_series(self):
        connection = connection_in(self.team, market(US), market(CA), market(MX))
        assert sales_traffic_plan(connection=connection) == 90
        for marketplace_id in (US, CA, MX):
            days = SalesTrafficDay.objects.filter(marketplace_id=marketplace_id)
            today = marketplace_today(marketplace_id)
            assert sorted(days.values_list("day", flat=True)) == [
                today - timedelta(days=n) for n in range(30, 0, -1)
            ]
        assert not SalesTrafficDay.objects.exclude(kind="day").exists()
        assert sales_traffic_plan(connection=connection) == 0

    def test_rows_of_the_old_two_year_plan_are_given_up_not_requested(self):
        connection = connection_in(self.team, market(US))
        today = marketplace_today(US)
        old = SalesTrafficDay.objects.create(
            connection=connection, marketplace_id=US, day=today - timedelta(days=400)
        )
        fetched = SalesTrafficDay.objects.create(
            connection=connection, marketplace_id=US, day=today - timedelta(days=500), status="done"
        )
        series = SalesTrafficDay.objects.create(
            connection=connection,
            marketplace_id=US,
            kind="series",
            day=today - timedelta(days=730),
            end_day=today - timedelta(days=1),
            status="fatal",
        )
        running = SalesTrafficDay.objects.create(
            connection=connection,
            marketplace_id=US,
            kind="series",
            day=today - timedelta(days=731),
            status="requested",
            report_id="r1",
        )
        sales_traffic_plan(connection=connection)
        for row in (old, series):
            row.refresh_from_db()
            assert (row.status, row.last_error, row.next_attempt_at) == ("given_up", RETIRED, None)
        # A day already fetched keeps its data; a series Amazon is preparing still finishes.
        fetched.refresh_from_db()
        running.refresh_from_db()
        assert fetched.status == "done" and running.status == "requested"
        assert not due_to_request(connection=connection, now=timezone.now()).filter(
            day__lt=today - timedelta(days=30)
        )


# The daily plan alone: the one range report on connect is test_sales_traffic_quick.py's.
@override_settings(AMAZON_QUICK_TOTALS=False)
class TaperTestCase(BaseTestCase):
    def test_normal_running_costs_six_reports_a_day_per_marketplace(self):
        connection = connection_in(self.team, market(US), market(CA), market(MX))
        per_day = []
        start = datetime(2026, 5, 1, 16, 0, tzinfo=UTC)
        for n in range(40):
            with time_machine.travel(start + timedelta(days=n), tick=False):
                sales_traffic_plan(connection=connection)
                per_day.append(fetch_due(connection))
        assert per_day[0] == 90  # the first 30 days of 3 marketplaces
        # After the first month every day costs the same: D-1 new, D-2 and D-3 while
        # their traffic is pending, and D-7, D-14, D-30 once, in each marketplace.
        assert per_day[31:] == [18] * 9
        assert max(per_day[1:]) <= 24  # never over our quarter of Amazon's 96

    def test_a_settled_day_is_pulled_again_at_7_14_and_30_days_only(self):
        connection = connection_in(self.team, market(US))
        start = datetime(2026, 5, 1, 16, 0, tzinfo=UTC)
        with time_machine.travel(start, tick=False):
            sales_traffic_plan(connection=connection)
            fetch_due(connection)
        watched = SalesTrafficDay.objects.get(day=marketplace_today(US, start) - timedelta(days=1))
        pulled_at = []
        for n in range(1, 35):
            with time_machine.travel(start + timedelta(days=n), tick=False):
                sales_traffic_plan(connection=connection)
                watched.refresh_from_db()
                if watched.status == "due":
                    pulled_at.append((marketplace_today(US) - watched.day).days)
                fetch_due(connection)
        assert pulled_at == [2, 3, 7, 14, 30]

    def test_a_day_whose_traffic_arrived_is_not_pulled_daily(self):
        connection = connection_in(self.team, market(US))
        start = datetime(2026, 5, 1, 16, 0, tzinfo=UTC)
        with time_machine.travel(start, tick=False):
            sales_traffic_plan(connection=connection)
            fetch_due(connection)
            SalesTrafficDay.objects.update(is_pending=False)
        with time_machine.travel(start + timedelta(days=1), tick=False):
            sales_traffic_plan(connection=connection)
            due = SalesTrafficDay.objects.filter(status="due")
            # Only the new day, and the day that just turned 7 (and 14 and 30).
            assert sorted((marketplace_today(US) - d.day).days for d in due) == [1, 7, 14, 30]

    def test_first_pulls_go_newest_first_and_settled_re_pulls_last(self):
        connection = connection_in(self.team, market(US), market(CA))
        start = datetime(2026, 5, 1, 16, 0, tzinfo=UTC)
        with time_machine.travel(start, tick=False):
            sales_traffic_plan(connection=connection)
            fetch_due(connection)
        with time_machine.travel(start + timedelta(days=1), tick=False):
            sales_traffic_plan(connection=connection)
            ids = [pk for pk, _ in due_to_request(connection=connection, now=timezone.now())]
            rows = [SalesTrafficDay.objects.get(pk=pk) for pk in ids]
            today = marketplace_today(US)
            ages = [(today - r.day).days for r in rows]
        assert ages == [1, 1, 2, 2, 3, 3, 7, 7, 14, 14, 30, 30]
        assert [r.fetched_at is None for r in rows[:2]] == [True, True]
        assert all(r.is_pending for r in rows[2:6])


class QuickRangePlanTestCase(BaseTestCase):
    def test_one_range_report_per_marketplace_goes_before_every_daily_report(self):
        connection = connection_in(self.team, market(US, **{LISTED: None}), market(CA), market(MX))
        moment = datetime(2026, 5, 1, 16, 0, tzinfo=UTC)
        with time_machine.travel(moment, tick=False):
            created = sales_traffic_plan(connection=connection)
            rows = [
                SalesTrafficDay.objects.get(pk=pk)
                for pk, _ in due_to_request(connection=connection, now=timezone.now())
            ]
        assert created == 93  # 30 days and one range in each of 3 marketplaces
        # The most listed first (CA and MX have 5 each, US not counted yet), then
        # Amazon's order; the daily days after all three.
        assert [(r.kind, r.marketplace_id) for r in rows[:3]] == [
            ("range", CA),
            ("range", MX),
            ("range", US),
        ]
        assert {r.kind for r in rows[3:]} == {"day"}
        today = marketplace_today(US, moment)
        us_range = rows[2]
        # The last 30 days whose traffic has arrived: it ends 3 days before yesterday.
        assert (us_range.day, us_range.end_day) == (
            today - timedelta(days=33),
            today - timedelta(days=4),
        )
        with time_machine.travel(moment, tick=False):
            assert sales_traffic_plan(connection=connection) == 0  # one at a time

    @override_settings(AMAZON_QUICK_TOTALS=False)
    def test_none_when_turned_off(self):
        connection = connection_in(self.team, market(US))
        sales_traffic_plan(connection=connection)
        assert not SalesTrafficDay.objects.filter(kind="range").exists()
