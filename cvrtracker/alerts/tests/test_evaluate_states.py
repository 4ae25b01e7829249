"""State rules on stored daily metrics and inventory: low stock, Buy Box, sessions and
conversion drops, each raised once until it clears."""

from __future__ import annotations

from datetime import timedelta

from cvrtracker.alerts.evaluate import alerts_evaluate
from cvrtracker.alerts.models import Alert, AlertCondition, AlertRule
from cvrtracker.alerts.selectors import alert_payload, conversion_monitoring
from cvrtracker.amazon.marketplaces import marketplace_today
from cvrtracker.lib import clock
from cvrtracker.listings.services import inventory_upsert_fba
from cvrtracker.test import BaseTestCase

from .rules_helpers import US, connect, rule, store_days

Kind = AlertRule.Kind
A, B, C = "B000000001", "B000000002", "B000000003"
DAYS = 100


def fba(connection, sku: str, asin: str, quantity: int) -> None:
    inventory_upsert_fba(
        connection=connection,
        marketplace_id=US,
        summaries=[
            {
                "sellerSku": sku,
                "asin": asin,
                "totalQuantity": quantity,
                "inventoryDetails": {"fulfillableQuantity": quantity},
            }
        ],
    )


class StateRulesTest(BaseTestCase):
    def setUp(self):
        self.connection = connect(self.alice)
        self.today = marketplace_today(US, clock.now())

    def history(self, shape):
        """DAYS days to yesterday; shape(asin, days_ago) -> (sessions, units, buy box)."""
        store_days(
            self.connection,
            {
                self.today - timedelta(days=ago): {
                    asin: shape(asin, ago) for asin in (A, B, C, "B0OTHER001", "B0OTHER002")
                }
                for ago in range(1, DAYS + 1)
            },
        )

    def evaluate(self):
        return alerts_evaluate(connection=self.connection, marketplace_id=US)

    def test_low_stock_from_days_of_cover_once_until_restocked(self):
        self.history(lambda asin, ago: (200, 10, 100.0))
        low = rule(self.alice, Kind.LOW_STOCK, {"days": 10})
        fba(self.connection, "SKU-1", A, 50)  # 5 days at 10 a day
        fba(self.connection, "SKU-2", B, 500)  # 50 days
        alerts = self.evaluate()
        assert [(a.rule_id, a.asin) for a in alerts] == [(low.pk, A)]
        figures = alert_payload(alerts[0])["figures"]
        assert figures == {
            "days_of_cover": 5.0,
            "quantity": 50,
            "units_per_day": 10.0,
            "threshold": 10,
        }
        assert self.evaluate() == []
        fba(self.connection, "SKU-1", A, 400)
        assert self.evaluate() == []
        assert not AlertCondition.objects.get(key=f"low_stock|{US}|{A}").active

    def test_buy_box_share_below_the_threshold_on_the_last_day(self):
        self.history(lambda asin, ago: (200, 10, 30.0 if asin == B and ago == 1 else 95.0))
        rule(self.alice, Kind.BUY_BOX_LOW, {"pct": 50})
        alerts = self.evaluate()
        assert [a.asin for a in alerts] == [B]
        assert alerts[0].day == self.today - timedelta(days=1)
        assert alert_payload(alerts[0])["figures"]["buy_box_pct"] == 30.0
        assert self.evaluate() == []

    def test_sessions_drop_against_the_trailing_baseline(self):
        self.history(lambda asin, ago: (40 if asin == C and ago <= 7 else 100, 5, 100.0))
        rule(self.alice, Kind.SESSIONS_DROP, {"pct": 50})
        alerts = self.evaluate()
        assert [a.asin for a in alerts] == [C]
        figures = alert_payload(alerts[0])["figures"]
        assert (figures["sessions_recent"], figures["sessions_baseline"]) == (40.0, 100.0)
        assert self.evaluate() == []

    def test_conversion_drop_at_high_traffic_is_raised_once_and_low_traffic_is_said(self):
        def shape(asin, ago):
            if asin == A:  # 2,000 sessions a day, conversion 10% → 6% for ten days
                return (2000, 120 if ago <= 10 else 200, 100.0)
            if asin == C:  # 20 sessions a day: too little to judge
                return (20, 2, 100.0)
            return (1000, 80 + (ago % 3), 100.0)

        self.history(shape)
        drop = rule(
            self.alice,
            Kind.CONVERSION_DROP,
            scope="chosen",
            connection=self.connection,
            asins=[A, B, C],
        )
        alerts = self.evaluate()
        assert [a.asin for a in alerts] == [A]
        assert self.today - timedelta(days=10) <= alerts[0].day < self.today
        assert alert_payload(alerts[0])["figures"]["drop_pct"] > 30
        assert self.evaluate() == []
        monitoring = conversion_monitoring(rule=drop)
        assert monitoring["too_little_traffic"] == [C]
        assert monitoring["dropped"] == [A]
        assert Alert.objects.count() == 1

    def test_a_rule_that_is_off_judges_nothing(self):
        self.history(lambda asin, ago: (200, 10, 10.0))
        rule(self.alice, Kind.BUY_BOX_LOW, {"pct": 50}, enabled=False)
        assert self.evaluate() == []
        assert not AlertCondition.objects.exists()
