"""product_page_data: the product page's series, figures, markers, bands and changes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.core.cache import cache
from django.http import Http404, QueryDict

from cvrtracker.dashboard import product
from cvrtracker.dashboard.product import chart_payload, product_page_data
from cvrtracker.dashboard.scope import dashboard_scope_for_user, period_from_query
from cvrtracker.listings.models import ListingChange
from cvrtracker.metrics.datakiosk import TrendRow
from cvrtracker.metrics.report import AsinRow, Money
from cvrtracker.metrics.services import metrics_merge_asin_days
from cvrtracker.test import BaseTestCase

from .product_helpers import (
    ASIN,
    DAYS,
    IMAGE,
    PENDING,
    SKU,
    US,
    admit,
    change,
    connect,
    day_values,
    impact,
    set_content,
    store_days,
)

Field = ListingChange.Field
Source = ListingChange.Source


class ProductDataTestCase(BaseTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.connection = connect(cls.team)
        cls.start, cls.end = store_days(cls.connection)
        cls.listing = admit(cls.connection)

    def page(self, query: str = "period=90", asin: str = ASIN, user=None):
        scope = dashboard_scope_for_user(
            user=user or self.alice, account=str(self.connection.code), marketplace=US
        )
        period = period_from_query(scope, QueryDict(query))
        return product_page_data(scope=scope, period=period, asin=asin)


class SeriesTests(ProductDataTestCase):
    def test_it_shows_every_fetched_day_with_pending_traffic_as_none(self):
        page = self.page()
        assert [d.day for d in page.series][0] == self.start
        assert len(page.series) == DAYS
        settled, pending = page.series[:-PENDING], page.series[-PENDING:]
        assert all(d.pending and d.sessions is None and d.conversion is None for d in pending)
        assert all(d.units > 0 for d in pending)  # sales of a pending day are known
        sessions, units, cents = day_values(1)
        assert (settled[1].sessions, settled[1].units) == (sessions, units)
        assert settled[1].revenue == Decimal(cents) / 100
        assert settled[1].conversion == pytest.approx(units / sessions)

    def test_the_figures_are_sums_and_conversion_uses_settled_days(self):
        f = self.page().figures
        settled = [day_values(i) for i in range(DAYS - PENDING)]
        sessions = sum(s for s, _, _ in settled)
        settled_units = sum(u for _, u, _ in settled)
        assert f.sessions == sessions
        assert f.settled_units == settled_units
        assert f.units > settled_units  # the pending days' units count in units and revenue
        assert f.conversion == pytest.approx(settled_units / sessions)
        assert f.buy_box == pytest.approx(90.0)
        assert f.pending_days == PENDING

    def test_the_chart_has_gaps_not_zeros_for_pending_and_missing_days(self):
        payload = chart_payload(self.page())
        assert len(payload["x"]) == 90  # every calendar day of the period
        assert payload["conversion"][: 90 - DAYS] == [None] * (90 - DAYS)  # not fetched
        assert payload["conversion"][-PENDING:] == [None] * PENDING
        assert payload["sessions"][-PENDING:] == [None] * PENDING
        assert all(v is not None for v in payload["conversion"][90 - DAYS : -PENDING])
        assert payload["x"][1] - payload["x"][0] == 86400

    def test_a_seven_day_range_has_seven_days(self):
        page = self.page("period=7")
        assert [d.day for d in page.series] == [self.end - timedelta(days=6 - i) for i in range(7)]


class SeriesCacheTests(ProductDataTestCase):
    def reads(self):
        return mock.patch.object(
            product, "metrics_product_series", wraps=product.metrics_product_series
        )

    def test_a_second_view_reads_the_series_from_the_cache_encrypted(self):
        with self.reads() as read:
            first, second = self.page(), self.page()
        assert read.call_count == 1
        assert first.series == second.series and len(first.series) == DAYS
        stored = [v for k, v in cache._cache.items() if "dashboard.product_series:" in k]
        # The first row as JSON would start so: "[<day ordinal>,<sessions>,".
        plain = f"[{first.series[0].day.toordinal()},{first.series[0].sessions},".encode()
        assert stored and all(plain not in bytes(v) for v in stored)

    def test_a_sync_that_rewrites_a_block_refreshes_the_series(self):
        day = self.end - timedelta(days=PENDING)  # the last settled day
        before = {d.day: d for d in self.page().series}[day]
        # Amazon restates the day: the product sold 77 units out of 700 sessions.
        row = AsinRow(
            parent_asin=ASIN,
            child_asin=ASIN,
            sku=None,
            sessions=700,
            page_views=900,
            units_ordered=77,
            total_order_items=77,
            ordered_product_sales=Money(77 * 2499, "USD"),
            buy_box_percentage=90.0,
            unit_session_percentage=11.0,
        )
        metrics_merge_asin_days(
            connection=self.connection,
            marketplace_id=US,
            start=day,
            end=day,
            asins=[ASIN],
            rows=[TrendRow(day, row)],
            currency="USD",
        )
        with self.reads() as read:
            after = {d.day: d for d in self.page().series}[day]
        # Only the month of the restated day is read again, from its first day.
        assert read.call_count == 1
        assert read.call_args.kwargs["start"] == day.replace(day=1)
        assert (before.sessions, before.units) != (700, 77)
        assert (after.sessions, after.units, after.conversion) == (700, 77, pytest.approx(0.11))

    def test_a_shorter_range_reuses_the_months_read_for_a_longer_one(self):
        long = self.page("period=90")
        with self.reads() as read:
            short = self.page("period=30")
        assert read.call_count == 0
        assert short.series == long.series[-30:]


class HeaderTests(ProductDataTestCase):
    def test_it_names_the_product_with_its_image_and_skus(self):
        set_content(
            self.listing,
            {"title": "Blue Kettle 1.7 l", "images": [{"variant": "MAIN", "link": IMAGE}]},
        )
        page = self.page()
        assert (page.title, page.image, page.skus) == ("Blue Kettle 1.7 l", IMAGE, [SKU])
        assert page.status == "Buyable" and page.tracked

    def test_without_content_the_summary_title_is_used(self):
        page = self.page()
        assert (page.title, page.image) == ("Blue Kettle", "")

    def test_an_untracked_product_still_shows_its_metrics(self):
        self.listing.tracking = self.listing.Tracking.STOPPED
        self.listing.save()
        page = self.page()
        assert not page.tracked
        assert page.figures.sessions > 0


class ChangeTests(ProductDataTestCase):
    def test_every_change_is_a_marker_at_its_day_with_its_kind_and_text(self):
        day = self.end - timedelta(days=20)
        title = change(
            self.connection,
            field=Field.TITLE,
            day=day,
            before="Kettle",
            after="Blue Kettle",
            listing=self.listing,
        )
        price = change(
            self.connection,
            field=Field.PRICE,
            day=day + timedelta(days=2),
            action="changed",
            before={"amount": "24.99", "currency": "USD"},
            after={"amount": "22.99", "currency": "USD"},
            pct=-8.0,
            listing=self.listing,
        )
        markers = {m.code: m for m in self.page().markers}
        assert markers[str(title.code)].day == day
        assert (markers[str(title.code)].group, markers[str(title.code)].short) == ("text", "T")
        assert markers[str(title.code)].text == "Title: Kettle → Blue Kettle"
        assert markers[str(price.code)].group == "price"
        assert markers[str(price.code)].text == "Price: 24.99 USD → 22.99 USD (-8.00%)"

    def test_changes_are_listed_newest_first_with_their_impact(self):
        old = change(
            self.connection,
            field=Field.MAIN_IMAGE,
            day=self.end - timedelta(days=40),
            before="https://x.test/a.jpg",
            after="https://x.test/b.jpg",
            listing=self.listing,
        )
        new = change(
            self.connection,
            field=Field.BULLET,
            day=self.end - timedelta(days=10),
            position=3,
            before="old words",
            after="new words",
            listing=self.listing,
        )
        stock = change(
            self.connection,
            field=Field.STOCK_OUT,
            day=self.end - timedelta(days=5),
            action="out_of_stock",
            before=4,
            after=0,
            source=Source.DERIVED,
        )
        stored = impact(old)
        items = self.page().changes
        assert [i.view.code for i in items] == [str(stock.code), str(new.code), str(old.code)]
        by_code = {i.view.code: i for i in items}
        assert by_code[str(old.code)].impact == stored
        assert by_code[str(old.code)].lift_text == "+25.0% (95% interval +10.0% to +42.0%)"
        assert by_code[str(new.code)].impact_state == "not_computed"
        assert by_code[str(stock.code)].impact_state == "not_measured"

    def test_changes_outside_the_period_or_of_another_asin_are_left_out(self):
        change(
            self.connection,
            field=Field.TITLE,
            day=self.end - timedelta(days=40),
            before="a",
            after="b",
            listing=self.listing,
        )
        other = change(self.connection, field=Field.TITLE, day=self.end, before="a", after="b")
        ListingChange.objects.filter(pk=other.pk).update(asin="B0OTHER001")
        assert self.page("period=30").changes == []


class BandTests(ProductDataTestCase):
    def test_stock_outs_buy_box_losses_and_suppression_are_bands(self):
        e = self.end
        change(
            self.connection,
            field=Field.STOCK_OUT,
            day=e - timedelta(days=30),
            action="out_of_stock",
            before=3,
            after=0,
            source=Source.DERIVED,
        )
        change(
            self.connection,
            field=Field.STOCK_OUT,
            day=e - timedelta(days=26),
            action="back_in_stock",
            before=0,
            after=5,
            source=Source.DERIVED,
            days=4,
        )
        change(
            self.connection,
            field=Field.BUY_BOX,
            day=e - timedelta(days=3),
            action="lost",
            before=90,
            after=20,
            source=Source.DERIVED,
        )
        issue = {"code": "90220", "severity": "ERROR", "message": "Missing image"}
        change(
            self.connection,
            field=Field.ISSUE,
            day=e - timedelta(days=20),
            action="appeared",
            after=issue,
            listing=self.listing,
            suppresses=True,
            severity="ERROR",
        )
        change(
            self.connection,
            field=Field.ISSUE,
            day=e - timedelta(days=18),
            action="cleared",
            before=issue,
            listing=self.listing,
            suppresses=True,
            severity="ERROR",
        )
        bands = [(b.kind, b.start, b.end) for b in self.page().bands]
        assert bands == [
            ("stock_out", e - timedelta(days=30), e - timedelta(days=27)),
            ("suppressed", e - timedelta(days=20), e - timedelta(days=19)),
            ("buy_box", e - timedelta(days=3), e),  # still lost: up to the period's end
        ]

    def test_a_band_begun_before_the_period_is_clipped_to_it(self):
        change(
            self.connection,
            field=Field.STOCK_OUT,
            day=self.end - timedelta(days=50),
            action="out_of_stock",
            before=3,
            after=0,
            source=Source.DERIVED,
        )
        page = self.page("period=7")
        assert [(b.kind, b.start, b.end) for b in page.bands] == [
            ("stock_out", page.period.start, self.end)
        ]


class NotFoundTests(ProductDataTestCase):
    def test_a_malformed_asin_is_not_found(self):
        with pytest.raises(Http404):
            self.page(asin="b0kettle01")
        with pytest.raises(Http404):
            self.page(asin="B0KETTLE01X")

    def test_an_asin_with_no_metrics_listing_or_change_here_is_not_found(self):
        with pytest.raises(Http404):
            self.page(asin="B0NOTHERE1")

    def test_an_asin_with_metrics_only_is_found(self):
        store_days(self.connection, asin="B0METRICS1")
        assert self.page(asin="B0METRICS1").figures.sessions > 0

    def test_another_teams_account_is_not_found(self):
        with pytest.raises(Http404):
            self.page(user=self.charlie)
