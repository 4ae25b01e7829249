"""GET /api/v1/connections/<code>/changes: the account's listing changes, a page at a time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

from django.urls import reverse

from cvrtracker.audit.models import AuditEntry
from cvrtracker.impact.services import impact_store
from cvrtracker.impact.types import IMPROVED, Impact, ImpactWindow
from cvrtracker.lib import clock
from cvrtracker.listings.models import Listing
from cvrtracker.listings.services import listings_admit
from cvrtracker.listings.tests.helpers import item
from cvrtracker.listings.tests.history_helpers import Field, Source, store
from cvrtracker.metrics.tests.helpers import make_connection

from .helpers import MARKET, ApiTestCase

DAY = clock.today() - timedelta(days=5)


def url(code) -> str:
    return reverse("api:changes", kwargs={"code": code})


class ChangesApiTests(ApiTestCase):
    def setUp(self):
        super().setUp()
        listings_admit(
            connection=self.connection,
            marketplace_id=MARKET,
            items=[item("KET-US", "B0KETTLE01"), item("MUG-US", "B0MUG00002")],
        )
        self.kettle = Listing.objects.get(connection=self.connection, sku="KET-US")
        self.mug = Listing.objects.get(connection=self.connection, sku="MUG-US")

    def get(self, **params):
        return self.api(url(self.connection.code), **params)

    def test_each_change_carries_its_values_interval_and_source(self):
        price = store(
            self.connection,
            listing=self.kettle,
            field=Field.PRICE,
            day=DAY,
            action="changed",
            before={"amount": "20.00", "currency": "USD"},
            after={"amount": "18.00", "currency": "USD"},
            pct=-10.0,
        )
        store(
            self.connection,
            listing=self.mug,
            field=Field.BULLET,
            position=3,
            day=DAY - timedelta(1),
            before="Holds 300 ml.",
            after="Holds 350 ml.",
        )
        inferred = store(
            self.connection,
            asin="B0KETTLE01",
            field=Field.PRICE,
            source=Source.INFERRED,
            day=DAY - timedelta(2),
            action="changed",
            before={"amount": "22.00", "currency": "USD"},
            after={"amount": "20.00", "currency": "USD"},
            pct=-9.09,
        )
        response = self.get()
        self.assertEqual(response.status_code, 200)
        self.assertIn("no-store", response["Cache-Control"])  # and private (lib/middleware.py)
        body = response.json()
        self.assertIsNone(body["next"])
        first, bullet, last = body["changes"]
        seen_at = datetime.combine(DAY, time(15, 1), tzinfo=UTC)
        self.assertEqual(
            first,
            {
                "id": str(price.code),
                "asin": "B0KETTLE01",
                "sku": "KET-US",
                "marketplace": MARKET,
                "field": "price",
                "position": None,
                "source": "observed",
                "action": "changed",
                "before": {"amount": "20.00", "currency": "USD"},
                "after": {"amount": "18.00", "currency": "USD"},
                "pct": -10.0,
                "day": DAY.isoformat(),
                "seen_between": [
                    (seen_at - timedelta(minutes=59)).isoformat(),
                    seen_at.isoformat(),
                ],
                "impact": None,
            },
        )
        self.assertEqual(
            (bullet["field"], bullet["position"], bullet["before"], bullet["after"]),
            ("bullet", 3, "Holds 300 ml.", "Holds 350 ml."),
        )
        self.assertEqual(
            (last["id"], last["source"], last["sku"]), (str(inferred.code), "inferred", "")
        )
        self.assertIsNone(last["seen_between"][0])

    def test_a_change_with_a_computed_impact_carries_it(self):
        image = store(self.connection, listing=self.kettle, field=Field.MAIN_IMAGE, day=DAY)
        waiting = store(self.connection, listing=self.mug, field=Field.TITLE, day=DAY)
        impact_store(
            change=image,
            impact=Impact(
                verdict=IMPROVED,
                lift=0.25,
                lift_low=0.12,
                lift_high=0.39,
                before=ImpactWindow(
                    start=DAY - timedelta(15),
                    end=DAY - timedelta(2),
                    days=14,
                    sessions=2800,
                    units=280,
                ),
                after=ImpactWindow(
                    start=DAY + timedelta(2),
                    end=DAY + timedelta(4),
                    days=3,
                    sessions=600,
                    units=75,
                ),
                trend_adjusted=True,
                shortened=False,
                final=False,
                as_of=DAY + timedelta(4),
                ready_on=None,
                units_per_month=112.5,
                note="Compared with the rest of the account over the same days.",
            ),
        )
        changes = {c["id"]: c for c in self.get().json()["changes"]}
        self.assertIsNone(changes[str(waiting.code)]["impact"])
        self.assertEqual(
            changes[str(image.code)]["impact"],
            {
                "verdict": "improved",
                "verdict_label": "Improved",
                "lift": 0.25,
                "lift_low": 0.12,
                "lift_high": 0.39,
                "before": {
                    "start": (DAY - timedelta(15)).isoformat(),
                    "end": (DAY - timedelta(2)).isoformat(),
                    "days": 14,
                    "sessions": 2800,
                    "units": 280,
                    "conversion_rate": 0.1,
                },
                "after": {
                    "start": (DAY + timedelta(2)).isoformat(),
                    "end": (DAY + timedelta(4)).isoformat(),
                    "days": 3,
                    "sessions": 600,
                    "units": 75,
                    "conversion_rate": 0.125,
                },
                "trend_adjusted": True,
                "shortened": False,
                "final": False,
                "as_of": (DAY + timedelta(4)).isoformat(),
                "ready_on": None,
                "units_per_month": 112.5,
                "note": "Compared with the rest of the account over the same days.",
            },
        )

    def test_it_filters_by_asin_field_source_and_days(self):
        title = store(self.connection, listing=self.kettle, field=Field.TITLE, day=DAY)
        bullet = store(
            self.connection,
            listing=self.mug,
            field=Field.BULLET,
            position=1,
            day=DAY - timedelta(3),
        )
        derived = store(
            self.connection,
            listing=self.mug,
            field=Field.STOCK_OUT,
            source=Source.DERIVED,
            action="out_of_stock",
            day=DAY - timedelta(1),
        )

        def ids(**params):
            response = self.get(**params)
            self.assertEqual(response.status_code, 200, response.content)
            return [c["id"] for c in response.json()["changes"]]

        self.assertEqual(ids(asin="B0MUG00002"), [str(derived.code), str(bullet.code)])
        self.assertEqual(ids(field="title"), [str(title.code)])
        self.assertEqual(ids(source="derived"), [str(derived.code)])
        start, end = DAY - timedelta(3), DAY - timedelta(2)
        self.assertEqual(ids(start=start.isoformat(), end=end.isoformat()), [str(bullet.code)])
        self.assertEqual(ids(end="0001-01-01"), [])
        self.assertEqual(ids(start="9999-12-31"), [])

    def test_a_cursor_walks_every_change_once(self):
        stored = {
            str(
                store(
                    self.connection,
                    listing=self.kettle,
                    field=Field.IMAGE,
                    position=n % 3 + 1,
                    day=DAY - timedelta(n // 3),
                ).code
            )
            for n in range(12)
        }
        seen, params, pages = [], {"limit": "5"}, 0
        while True:
            body = self.get(**params).json()
            pages += 1
            self.assertLessEqual(len(body["changes"]), 5)
            seen += [c["id"] for c in body["changes"]]
            if body["next"] is None:
                break
            params = {"limit": "5", "cursor": body["next"]}
        self.assertEqual(pages, 3)
        self.assertEqual(len(seen), len(set(seen)))
        self.assertEqual(set(seen), stored)

    def test_bad_parameters_are_a_clear_400(self):
        for params, field, message in [
            ({"field": "colour"}, "field", "field must be one of title, bullet,"),
            ({"source": "guessed"}, "source", "source must be one of observed, inferred, derived."),
            ({"asin": "b00-nope"}, "asin", "asin must be ten capital letters or digits."),
            ({"start": "2026-13-01"}, "start", "start must be a date written YYYY-MM-DD."),
            ({"limit": "501"}, "limit", "limit must be a whole number from 1 to 500."),
            ({"limit": "0"}, "limit", "limit must be a whole number from 1 to 500."),
            ({"cursor": "not-a-cursor"}, "cursor", "cursor is not valid"),
            ({"cursor": "W10:abc"}, "cursor", "cursor is not valid"),
        ]:
            response = self.get(**params)
            self.assertEqual(response.status_code, 400, params)
            self.assertIn(message, response.json()["error"])
            self.assertEqual(set(response.json()["fields"]), {field})
        response = self.get(start="2026-11-30", end="2026-11-01")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"], "start must be on or before end.")
        self.assertEqual(self.reads(AuditEntry.Action.API_CHANGES_READ), [])

    def test_a_cursor_of_another_account_is_refused(self):
        for n in range(3):
            store(self.connection, listing=self.kettle, field=Field.TITLE, day=DAY - timedelta(n))
        cursor = self.get(limit="1").json()["next"]
        mine = [c for c in self.get(cursor=cursor).json()["changes"]]
        self.assertEqual(len(mine), 2)
        other = make_connection(self.key.team, seller_id="A3OTHER")
        response = self.api(url(other.code), cursor=cursor)
        self.assertEqual(response.status_code, 400)
        self.assertEqual(set(response.json()["fields"]), {"cursor"})

    def test_another_teams_connection_is_not_found(self):
        store(self.connection, listing=self.kettle, field=Field.TITLE, day=DAY)
        for code in (self.charlies_connection.code, uuid.uuid4()):
            self.assertEqual(self.api(url(code)).status_code, 404)
        self.assertEqual(self.reads(AuditEntry.Action.API_CHANGES_READ), [])

    def test_the_read_is_audited_with_the_connection(self):
        self.get()
        (entry,) = self.reads(AuditEntry.Action.API_CHANGES_READ)
        self.assertEqual((entry.actor, entry.target_code), (self.alice, str(self.connection.code)))

    def test_it_needs_a_key(self):
        self.assertEqual(self.api(url(self.connection.code), token="").status_code, 401)

    def test_the_keys_page_documents_it(self):
        self.client.force_login(self.alice)
        page = self.client.get(reverse("api_keys:page"))
        self.assertContains(page, "/connections/&lt;code&gt;/changes?field=title")
        self.assertContains(page, "<code>GET /connections/&lt;code&gt;/changes</code>")
