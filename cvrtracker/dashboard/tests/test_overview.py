import json
import uuid
from datetime import UTC, datetime, timedelta
from unittest import mock

from django.urls import reverse

from cvrtracker.amazon.models import SellerConnection
from cvrtracker.audit.models import AuditEntry
from cvrtracker.dashboard import overview as selectors
from cvrtracker.lib import clock
from cvrtracker.listings.models import Listing, ListingChange
from cvrtracker.listings.tests.helpers import admit, item
from cvrtracker.listings.tests.history_helpers import store
from cvrtracker.metrics.quick import QuickTotals
from cvrtracker.metrics.report import Money
from cvrtracker.metrics.selectors import ProductRow
from cvrtracker.test import BaseTestCase

from .helpers import CA, LAST_DAY, NOW, UP, expected_totals, ingest, make_connection

URL = reverse("dashboard:overview")


class DashboardTests(BaseTestCase):
    def test_it_requires_login(self):
        self.assertRedirects(self.client.get(URL), f"{reverse('accounts:login')}?next={URL}")

    def test_it_shows_my_team(self):
        self.client.force_login(self.bob)
        response = self.client.get(URL)
        self.assertContains(response, self.team.name)
        self.assertNotContains(response, self.charlies_team.name)

    def test_it_asks_unverified_users_to_confirm_their_email(self):
        self.alice.email_verified_at = None
        self.alice.save()
        self.client.force_login(self.alice)
        self.assertContains(self.client.get(URL), "confirm your email address")

    def test_without_a_connection_it_says_how_to_connect(self):
        self.client.force_login(self.alice)
        response = self.client.get(URL)
        self.assertContains(response, "No Amazon account connected yet")
        self.assertContains(response, f'href="{reverse("amazon:settings")}"')
        assert not AuditEntry.objects.filter(action=AuditEntry.Action.OVERVIEW_READ).exists()


class OverviewTests(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.enterContext(clock.following(lambda: NOW))
        self.connection = make_connection(self.team)
        ingest(self.connection)
        self.client.force_login(self.bob)

    def get(self, **query):
        return self.client.get(URL, query)

    def test_it_shows_the_periods_sums_and_says_how_conversion_is_computed(self):
        response = self.get(period="30")
        e = expected_totals(LAST_DAY - timedelta(days=29), LAST_DAY)
        self.assertContains(response, f"{e['sessions']:,}")
        self.assertContains(response, f"{e['units']:,}")
        self.assertContains(response, f"{e['sales'] / 100:,.2f} USD")
        self.assertContains(response, f"{100 * e['settled_units'] / e['sessions']:.2f}%")
        self.assertContains(response, "units ÷ sessions")
        self.assertContains(response, "lower than the sum of the products")
        chart = json.loads(
            response.content.decode()
            .split('id="overview-chart-data" type="application/json">')[1]
            .split("</script>")[0]
        )
        assert len(chart["day"]) == 30 and chart["pending"][-3:] == [True] * 3

    def test_it_marks_pending_days_and_freshness(self):
        response = self.get(period="7")
        self.assertContains(response, "Traffic up to <strong>Wed 25 Nov 2026</strong>")
        self.assertContains(response, '<span class="badge badge-pending">28 Nov</span>')
        self.assertContains(response, 'class="day-pending"', count=3)

    def test_a_previous_period_without_data_reads_dash(self):
        response = self.get(period="90")
        page = response.content.decode()
        assert page.count('class="figure-change change-none"') == 6
        assert "0.0%" not in page and "0.0 pts" not in page

    def test_each_view_writes_one_audit_entry(self):
        self.get()
        entries = AuditEntry.objects.filter(action=AuditEntry.Action.OVERVIEW_READ)
        assert entries.count() == 1
        assert entries.get().team == self.team

    def test_another_teams_account_is_not_found(self):
        other = make_connection(self.charlies_team, "A1CHARLIE")
        assert self.get(account=str(other.code)).status_code == 404
        assert self.get(account=str(uuid.uuid4())).status_code == 404

    def test_it_switches_between_accounts_and_marketplaces(self):
        second = make_connection(
            self.team,
            "A1SECOND",
            marketplaces=[{"id": "ATVPDKIKX0DER", "name": "Amazon.com"}, {"id": CA}],
        )
        ingest(second, scale=3)
        ingest(second, market=CA, currency="CAD", scale=5)
        first = self.get(period="30")
        self.assertContains(first, 'name="account"')
        self.assertContains(first, "A1SECOND")
        self.assertNotContains(first, 'name="marketplace"><option')
        e = expected_totals(LAST_DAY - timedelta(days=29), LAST_DAY)
        response = self.get(account=str(second.code), period="30", sort="kept")
        self.assertContains(response, f"{3 * e['sessions']:,}")
        self.assertContains(response, '<select name="marketplace">')
        self.assertContains(response, '<input type="hidden" name="sort" value="kept">')
        canadian = self.get(account=str(second.code), marketplace=CA, period="30")
        self.assertContains(canadian, f"{5 * e['sales'] / 100:,.2f} CAD")

    def test_a_clamped_period_says_so_with_a_link_to_billing(self):
        response = self.get(period="custom", start="2024-06-01", end="2025-01-31")
        self.assertContains(response, "Your plan shows data from")
        self.assertContains(response, reverse("billing:page"))

    def test_an_invalid_period_is_explained(self):
        response = self.get(period="custom", start="2026-11-10", end="2026-11-01")
        assert response.status_code == 400
        self.assertContains(response, "comes before its first", status_code=400)
        self.assertContains(response, "Showing the last 30 days instead", status_code=400)

    def test_it_lists_the_latest_changes_with_links(self):
        change = store(
            self.connection,
            asin=UP,
            field=ListingChange.Field.PRICE,
            day=LAST_DAY,
            action="changed",
            before={"amount": "10.00", "currency": "USD"},
            after={"amount": "12.00", "currency": "USD"},
        )
        response = self.get()
        product = reverse("dashboard:product", args=[self.connection.code, "ATVPDKIKX0DER", UP])
        self.assertContains(response, f'href="{product}?period=30"')
        self.assertContains(response, "Price")
        assert change.listing is None  # a change known by ASIN only: no history link
        self.assertContains(response, "Conversion movers")
        self.assertContains(response, "at least 100 sessions")

    def test_changes_of_a_listing_link_to_its_history_and_movers_show_titles(self):
        admit(self.connection, [item("SKU-UP", UP, title="Blue Kettle")])
        listing = Listing.objects.get(connection=self.connection, sku="SKU-UP")
        change = store(
            self.connection, listing=listing, field=ListingChange.Field.TITLE, day=LAST_DAY
        )
        response = self.get()
        history = reverse("listings:product_changes", args=[listing.code])
        self.assertContains(response, f'href="{history}#change-{change.code}"')
        self.assertContains(response, "Blue Kettle")
        self.assertContains(response, "+20.0 pts")

    def test_a_disconnected_account_is_gone_from_the_dashboard(self):
        # Issue 12: its key is destroyed at the disconnect and its data is being
        # purged; the dashboard shows nothing of it (it said "disconnected" before).
        admit(self.connection, [item("SKU-UP", UP, title="Blue Kettle")])
        self.assertContains(self.get(), "Blue Kettle")
        SellerConnection.objects.filter(pk=self.connection.pk).update(
            status=SellerConnection.Status.DISCONNECTED
        )
        response = self.get()
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, "Blue Kettle")

    def test_all_pending_says_so(self):
        response = self.get(period="custom", start="2026-11-26", end="2026-11-28")
        self.assertContains(response, "still waits for Amazon's traffic figures")

    def test_without_daily_data_it_shows_the_quick_totals(self):
        fresh = make_connection(self.team, "A1FRESH")
        with mock.patch.object(selectors, "metrics_quick_totals", return_value=self.quick()):
            response = self.get(account=str(fresh.code))
        self.assertContains(response, "Your products over 30 Oct – 28 Nov 2026")
        self.assertContains(response, "From one Amazon Sales &amp; Traffic report")
        self.assertContains(response, "719.64 USD")
        self.assertContains(response, "9.00%")
        self.assertNotContains(response, "overview-chart-data")

    @staticmethod
    def quick():
        # metrics_quick_totals is a placeholder returning None until the quick helper's
        # branch lands: these tests stand in a QuickTotals for it.
        return QuickTotals(
            start=LAST_DAY - timedelta(days=29),
            end=LAST_DAY,
            fetched_at=datetime(2026, 11, 29, 19, 0, tzinfo=UTC),
            currency="USD",
            rows=[ProductRow(UP, UP, 400, 500, 36, 36, 36, Money(71964, "USD"), 99.0, 30, 0)],
        )

    def test_quick_totals_stand_beside_the_first_days_and_leave_once_the_period_is_in(self):
        fresh = make_connection(self.team, "A1FRESH")
        ingest(fresh, days=4)
        with mock.patch.object(selectors, "metrics_quick_totals", return_value=self.quick()):
            early = self.get(account=str(fresh.code))
            complete = self.get(period="7")
        self.assertContains(early, "Your products over 30 Oct – 28 Nov 2026")
        self.assertContains(early, "it covers 4 of this period")
        self.assertContains(early, "overview-chart-data")
        self.assertNotContains(complete, "Your products over 30 Oct – 28 Nov 2026")

    def test_without_any_data_it_says_the_figures_are_coming(self):
        fresh = make_connection(self.team, "A1FRESH")
        response = self.get(account=str(fresh.code))
        self.assertContains(response, "No daily figures for this period yet")

    def test_an_account_whose_key_was_destroyed_is_gone(self):
        # Issue 12: a destroyed key means a stopped account, waiting for its purge:
        # the dashboard neither reads it nor breaks.
        SellerConnection.objects.filter(pk=self.connection.pk).update(wrapped_data_key=None)
        response = self.get()
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, str(self.connection.code))
        assert not AuditEntry.objects.filter(action=AuditEntry.Action.OVERVIEW_READ).exists()
