"""Event rules: new listing changes become alerts, once, only for rules that are on."""

from __future__ import annotations

from datetime import timedelta

from cvrtracker.alerts.evaluate import alerts_evaluate
from cvrtracker.alerts.models import Alert, AlertRule, Delivery, EvaluationCursor
from cvrtracker.alerts.selectors import alert_payload, alerts_for_team
from cvrtracker.alerts.services import alert_rule_set_enabled
from cvrtracker.lib import clock
from cvrtracker.test import BaseTestCase

from .rules_helpers import CA, change, channel, connect, rule

Kind = AlertRule.Kind
TITLE = {"action": "edited", "before": "Old title", "after": "New title"}


class EventRulesTest(BaseTestCase):
    def setUp(self):
        self.connection = connect(self.alice)
        self.email = channel(self.alice)

    def evaluate(self):
        return alerts_evaluate(connection=self.connection, state=False)

    def test_a_title_change_raises_one_alert_with_its_details_and_one_delivery(self):
        watch = rule(self.alice, Kind.LISTING_CHANGED, {"fields": ["title"]}, channels=[self.email])
        stored = change(self.connection, "title", TITLE)
        change(self.connection, "description", TITLE)  # not watched
        alerts = self.evaluate()
        assert len(alerts) == 1
        alert = alerts[0]
        assert (alert.rule, alert.asin, alert.day, alert.kind) == (
            watch,
            "B000000001",
            stored.day,
            Kind.LISTING_CHANGED,
        )
        payload = alert_payload(alert)
        assert payload["title"] == "Product 1"
        assert payload["before"] == "Old title" and payload["after"] == "New title"
        assert payload["summary"] == "Title edited: “Old title” → “New title”"
        assert payload["change"] == str(stored.code)
        assert list(alert.deliveries.values_list("channel", flat=True)) == [self.email.pk]
        # Evaluated again (a retried task, the periodic run): nothing new.
        assert self.evaluate() == []
        assert Alert.objects.count() == 1 and Delivery.objects.count() == 1

    def test_a_rule_that_is_off_raises_nothing_and_never_replays_history_when_switched_on(self):
        watch = rule(self.alice, Kind.LISTING_CHANGED, {"fields": ["title"]}, enabled=False)
        change(self.connection, "title", TITLE)
        assert self.evaluate() == []
        alert_rule_set_enabled(user=self.alice, rule=watch, enabled=True)
        assert self.evaluate() == []
        assert not Alert.objects.exists()

    def test_a_change_committed_late_with_a_lower_id_is_still_read_once(self):
        rule(self.alice, Kind.LISTING_CHANGED, {"fields": ["title"]})
        first = change(self.connection, "title", TITLE)
        self.evaluate()
        # The cursor passed it; a later run re-reads the LOOKBACK and stores nothing twice.
        EvaluationCursor.objects.filter(connection=self.connection).update(last_change_id=first.pk)
        assert self.evaluate() == []
        assert Alert.objects.count() == 1

    def test_price_changes_beyond_the_threshold_either_way(self):
        rule(self.alice, Kind.PRICE_CHANGED, {"pct": 10})
        usd = lambda a: {"amount": a, "currency": "USD"}  # noqa: E731
        change(
            self.connection,
            "price",
            {"action": "changed", "before": usd("20.00"), "after": usd("19.00"), "pct": -5.0},
        )
        big = change(
            self.connection,
            "price",
            {"action": "changed", "before": usd("20.00"), "after": usd("15.00"), "pct": -25.0},
        )
        change(
            self.connection,
            "price",
            {"action": "changed", "before": usd("20.00"), "after": usd("30.00"), "pct": None},
        )
        alerts = self.evaluate()
        assert [alert_payload(a)["change"] for a in alerts] == [str(big.code)]
        assert (
            alert_payload(alerts[0])["summary"] == "Price changed: 20.00 USD → 15.00 USD (-25.0%)"
        )

    def test_listing_issues_of_the_chosen_severity_or_worse(self):
        errors = rule(self.alice, Kind.LISTING_ISSUE, {"severity": "error"})
        warnings = rule(self.alice, Kind.LISTING_ISSUE, {"severity": "warning"})
        issue = {"code": "90220", "message": "Missing brand", "severity": "WARNING"}
        change(
            self.connection,
            "issue",
            {
                "action": "appeared",
                "before": None,
                "after": issue,
                "severity": "WARNING",
                "suppresses": False,
            },
        )
        error = {**issue, "code": "8541", "severity": "ERROR"}
        change(
            self.connection,
            "issue",
            {
                "action": "appeared",
                "before": None,
                "after": error,
                "severity": "ERROR",
                "suppresses": False,
            },
        )
        change(
            self.connection,
            "issue",
            {
                "action": "cleared",
                "before": error,
                "after": None,
                "severity": "ERROR",
                "suppresses": False,
            },
        )
        alerts = self.evaluate()
        assert sorted((a.rule_id, a.kind) for a in alerts) == sorted(
            [
                (errors.pk, Kind.LISTING_ISSUE),
                (warnings.pk, Kind.LISTING_ISSUE),
                (warnings.pk, Kind.LISTING_ISSUE),
            ]
        )

    def test_suppressed_or_inactive_alerts_once_until_buyable_again(self):
        rule(self.alice, Kind.LISTING_SUPPRESSED)
        issue = {"code": "18027", "severity": "ERROR", "enforcement": ["SEARCH_SUPPRESSED"]}
        now = clock.now()
        change(
            self.connection,
            "issue",
            {
                "action": "appeared",
                "before": None,
                "after": issue,
                "severity": "ERROR",
                "suppresses": True,
            },
            at=now - timedelta(hours=5),
        )
        change(
            self.connection,
            "status",
            {"action": "changed", "before": ["BUYABLE"], "after": []},
            at=now - timedelta(hours=4),
        )
        assert len(self.evaluate()) == 1  # the same condition: one alert
        change(
            self.connection,
            "status",
            {"action": "changed", "before": [], "after": ["BUYABLE"]},
            at=now - timedelta(hours=3),
        )
        assert self.evaluate() == []
        change(
            self.connection,
            "status",
            {"action": "changed", "before": ["BUYABLE"], "after": ["DISCOVERABLE"]},
            at=now - timedelta(hours=2),
        )
        assert len(self.evaluate()) == 1  # cleared, then started again

    def test_out_of_stock_once_until_back_and_back_in_stock_when_asked(self):
        rule(self.alice, Kind.OUT_OF_STOCK, {"back_in_stock": True})
        quiet = rule(self.alice, Kind.OUT_OF_STOCK, {"back_in_stock": False})
        now = clock.now()
        out = {"action": "out_of_stock", "before": 4, "after": 0}
        back = {"action": "back_in_stock", "before": 0, "after": 12}
        change(self.connection, "fba_stock", out, at=now - timedelta(hours=5))
        first = self.evaluate()
        assert len(first) == 2
        # A second stock-out reading before it is back: nothing new.
        change(self.connection, "fba_stock", out, at=now - timedelta(hours=4))
        assert self.evaluate() == []
        change(self.connection, "fba_stock", back, at=now - timedelta(hours=3))
        back_alerts = self.evaluate()
        assert [a.rule_id != quiet.pk for a in back_alerts] == [True]
        assert alert_payload(back_alerts[0])["summary"] == "FBA stock: back in stock (0 → 12)"
        change(self.connection, "fba_stock", out, at=now - timedelta(hours=2))
        assert len(self.evaluate()) == 2

    def test_scope_tracked_chosen_and_marketplace(self):
        tracked = rule(self.alice, Kind.LISTING_CHANGED, {"fields": ["title"]})
        chosen = rule(
            self.alice,
            Kind.LISTING_CHANGED,
            {"fields": ["title"]},
            scope="chosen",
            connection=self.connection,
            asins=["B000000002"],
        )
        canada = rule(
            self.alice,
            Kind.LISTING_CHANGED,
            {"fields": ["title"]},
            scope="marketplace",
            connection=self.connection,
            marketplace_id=CA,
        )
        change(self.connection, "title", TITLE, asin="B000000001")
        change(self.connection, "title", TITLE, asin="B000000002")
        change(self.connection, "title", TITLE, asin="B0NOTLISTD", market=CA)
        change(self.connection, "title", TITLE, asin="B0UNTRACKD")  # no tracked listing
        by_rule = {}
        for alert in self.evaluate():
            by_rule.setdefault(alert.rule_id, []).append(alert.asin)
        assert sorted(by_rule[tracked.pk]) == ["B000000001", "B000000002"]
        assert by_rule[chosen.pk] == ["B000000002"]
        assert by_rule[canada.pk] == ["B0NOTLISTD"]

    def test_another_teams_rules_see_nothing_of_this_account(self):
        rule(self.charlie, Kind.LISTING_CHANGED, {"fields": ["title"]})
        change(self.connection, "title", TITLE)
        assert self.evaluate() == []
        assert not alerts_for_team(team=self.charlies_team).exists()
