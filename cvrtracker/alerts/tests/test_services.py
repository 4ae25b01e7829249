"""The rule services: validation, opt-in, channels and the plan."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from cvrtracker.alerts.models import AlertChannel, AlertRule, RuleChannel
from cvrtracker.alerts.services import (
    alert_rule_create,
    alert_rule_delete,
    alert_rule_set_enabled,
    alert_rule_update,
    rule_params_clean,
)
from cvrtracker.audit.models import AuditEntry
from cvrtracker.billing.limits import PlanLimitError
from cvrtracker.listings.tests.helpers import PlanTestCase
from cvrtracker.test import BaseTestCase

from .rules_helpers import US, channel, connect

Kind = AlertRule.Kind


class RuleServicesTest(BaseTestCase):
    def test_a_new_rule_is_off_and_sends_to_nothing_until_switched_on(self):
        rule = alert_rule_create(
            user=self.bob, kind=Kind.LOW_STOCK, params={"days": "10"}, channels=[channel(self.bob)]
        )
        assert not rule.enabled and rule.opted_in_by is None
        assert rule.params == {"days": 10}
        assert RuleChannel.objects.filter(rule=rule).count() == 1

    def test_switching_on_records_who_and_when_and_is_audited(self):
        rule = alert_rule_create(user=self.alice, kind=Kind.CONVERSION_DROP, params={})
        alert_rule_set_enabled(user=self.bob, rule=rule, enabled=True)
        rule.refresh_from_db()
        assert rule.enabled and rule.opted_in_by == self.bob and rule.opted_in_at is not None
        assert AuditEntry.objects.filter(
            action=AuditEntry.Action.ALERT_RULE_ON, actor=self.bob, target_code=str(rule.code)
        ).exists()
        alert_rule_set_enabled(user=self.alice, rule=rule, enabled=False)
        rule.refresh_from_db()
        assert not rule.enabled
        assert AuditEntry.objects.filter(
            action=AuditEntry.Action.ALERT_RULE_OFF, actor=self.alice
        ).exists()
        # Switching off what is off records nothing more.
        alert_rule_set_enabled(user=self.alice, rule=rule, enabled=False)
        assert AuditEntry.objects.filter(action=AuditEntry.Action.ALERT_RULE_OFF).count() == 1

    def test_params_are_checked_per_kind_with_clear_messages(self):
        cases = [
            (Kind.LISTING_CHANGED, {"fields": []}, "at least one listing field"),
            (Kind.LISTING_CHANGED, {"fields": ["title", "colour"]}, "Unknown listing field"),
            (Kind.LISTING_ISSUE, {"severity": "fatal"}, "error or warning"),
            (Kind.LOW_STOCK, {"days": "soon"}, "as a number"),
            (Kind.LOW_STOCK, {"days": 2.5}, "whole number"),
            (Kind.PRICE_CHANGED, {"pct": -3}, "between"),
            (Kind.BUY_BOX_LOW, {"pct": 120}, "between"),
            (Kind.SESSIONS_DROP, {}, "as a number"),
            (Kind.DIGEST, {"frequency": "hourly"}, "daily or weekly"),
            ("weather", {}, "what the alert is about"),
        ]
        for kind, params, message in cases:
            with pytest.raises(ValidationError) as raised:
                rule_params_clean(kind, params)
            assert message in str(raised.value), (kind, params)
        assert rule_params_clean(Kind.LISTING_CHANGED, {"fields": ["price", "title"]}) == {
            "fields": ["title", "price"]
        }
        assert rule_params_clean(Kind.OUT_OF_STOCK, {"back_in_stock": "on"}) == {
            "back_in_stock": True
        }
        assert rule_params_clean(Kind.CONVERSION_DROP, {"junk": 1}) == {}

    def test_scope_is_checked_and_nothing_is_stored_on_bad_input(self):
        mine = connect(self.alice)
        theirs = connect(self.charlie, seller_id="A1OTHER")
        bad = [
            {"scope": "chosen", "connection": mine, "asins": []},
            {"scope": "chosen", "asins": ["B000000001"]},
            {"scope": "chosen", "connection": mine, "asins": ["not an asin"]},
            {"scope": "marketplace", "connection": mine},
            {"scope": "marketplace", "connection": mine, "marketplace_id": "XX"},
            {"scope": "marketplace", "connection": mine, "marketplace_id": "A1F83G8C2ARO7P"},
            {"scope": "tracked", "connection": theirs},
            {"scope": "everything"},
        ]
        for scope in bad:
            with pytest.raises(ValidationError):
                alert_rule_create(
                    user=self.alice, kind=Kind.BUY_BOX_LOW, params={"pct": 50}, **scope
                )
        assert not AlertRule.objects.exists()
        rule = alert_rule_create(
            user=self.alice,
            kind=Kind.BUY_BOX_LOW,
            params={"pct": 50},
            scope="chosen",
            connection=mine,
            asins=["b000000001", "B000000001 ", "B000000002"],
        )
        assert rule.asins == ["B000000001", "B000000002"]
        rule = alert_rule_create(
            user=self.alice,
            kind=Kind.BUY_BOX_LOW,
            params={"pct": 50},
            scope="marketplace",
            connection=mine,
            marketplace_id=US,
        )
        assert rule.marketplace_id == US

    def test_only_the_teams_own_channels_can_be_subscribed(self):
        with pytest.raises(ValidationError):
            alert_rule_create(
                user=self.alice,
                kind=Kind.CONVERSION_DROP,
                params={},
                channels=[channel(self.charlie)],
            )
        assert not AlertRule.objects.exists()

    def test_update_changes_what_it_watches_keeps_unsubscribed_pairs_and_audits(self):
        email, hook = channel(self.alice), channel(self.alice, AlertChannel.Kind.WEBHOOK, "Hook")
        rule = alert_rule_create(
            user=self.alice, kind=Kind.PRICE_CHANGED, params={"pct": 5}, channels=[email]
        )
        RuleChannel.objects.filter(rule=rule, channel=email).update(unsubscribed_at=timezone.now())
        alert_rule_update(user=self.bob, rule=rule, params={"pct": 12}, channels=[email, hook])
        rule.refresh_from_db()
        assert rule.params == {"pct": 12.0}
        pairs = {s.channel_id: s.unsubscribed_at for s in rule.subscriptions.all()}
        assert set(pairs) == {email.pk, hook.pk} and pairs[email.pk] is not None
        alert_rule_update(user=self.bob, rule=rule, channels=[hook])
        assert list(rule.subscriptions.values_list("channel_id", flat=True)) == [hook.pk]
        with pytest.raises(ValidationError):
            alert_rule_update(user=self.bob, rule=rule, params={"pct": "lots"})
        rule.refresh_from_db()
        assert rule.params == {"pct": 12.0}
        assert AuditEntry.objects.filter(action=AuditEntry.Action.ALERT_RULE_CHANGED).count() == 3

    def test_another_teams_member_can_neither_change_nor_switch_nor_delete(self):
        rule = alert_rule_create(user=self.alice, kind=Kind.CONVERSION_DROP, params={})
        for call in (
            lambda: alert_rule_update(user=self.charlie, rule=rule, params={}),
            lambda: alert_rule_set_enabled(user=self.charlie, rule=rule, enabled=True),
            lambda: alert_rule_delete(user=self.charlie, rule=rule),
        ):
            with pytest.raises(ValidationError):
                call()
        rule.refresh_from_db()
        assert not rule.enabled

    def test_delete_is_audited(self):
        rule = alert_rule_create(user=self.alice, kind=Kind.CONVERSION_DROP, params={})
        code = str(rule.code)
        alert_rule_delete(user=self.bob, rule=rule)
        assert not AlertRule.objects.exists()
        assert AuditEntry.objects.filter(
            action=AuditEntry.Action.ALERT_RULE_DELETED, target_code=code
        ).exists()


class RulePlanTest(PlanTestCase):
    def test_a_channel_kind_outside_the_plan_cannot_be_subscribed_nor_switched_on(self):
        hook = channel(self.alice, AlertChannel.Kind.WEBHOOK, "Hook")
        # On the trial (everything of Pro), a webhook rule is fine, and on.
        rule = alert_rule_create(
            user=self.alice, kind=Kind.CONVERSION_DROP, params={}, channels=[hook], enabled=True
        )
        alert_rule_set_enabled(user=self.alice, rule=rule, enabled=False)
        self.put_on_starter()  # email only
        with pytest.raises(PlanLimitError):
            alert_rule_set_enabled(user=self.alice, rule=rule, enabled=True)
        with pytest.raises(PlanLimitError):
            alert_rule_create(
                user=self.alice, kind=Kind.CONVERSION_DROP, params={}, channels=[hook]
            )
        rule.refresh_from_db()
        assert not rule.enabled
        assert AlertRule.objects.count() == 1
        email_rule = alert_rule_create(
            user=self.alice,
            kind=Kind.CONVERSION_DROP,
            params={},
            channels=[channel(self.alice)],
            enabled=True,
        )
        assert email_rule.enabled
