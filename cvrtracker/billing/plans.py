"""The plans, in one place: what each one allows and which Stripe price sells it.

A price is matched by its id or by its lookup key, both set by the environment
(`STRIPE_PRICE_STARTER`, `STRIPE_PRICE_PRO`), so that test and live mode, or a
price change in Stripe, never need a code change.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

TRIAL_DAYS = 14

EMAIL = "email"
WEBHOOK = "webhook"
SLACK = "slack"


@dataclass(frozen=True)
class Plan:
    key: str
    name: str
    # Cents per month, for the pricing table only: Stripe's price is what is charged.
    monthly_price_cents: int
    tracked_products: int
    seller_accounts: int
    history_days: int
    alert_channels: frozenset[str]
    api_access: bool
    # The settings attribute holding the Stripe price id or lookup key; "" for
    # plans that cannot be bought.
    price_setting: str = ""

    @property
    def price(self) -> str:
        return getattr(settings, self.price_setting, "") if self.price_setting else ""

    @property
    def purchasable(self) -> bool:
        return bool(self.price)


STARTER = Plan(
    key="starter",
    name="Starter",
    monthly_price_cents=1900,
    tracked_products=50,
    seller_accounts=1,
    history_days=90,
    alert_channels=frozenset({EMAIL}),
    api_access=False,
    price_setting="STRIPE_PRICE_STARTER",
)
PRO = Plan(
    key="pro",
    name="Pro",
    monthly_price_cents=7900,
    tracked_products=1000,
    seller_accounts=5,
    history_days=730,
    alert_channels=frozenset({EMAIL, WEBHOOK, SLACK}),
    api_access=True,
    price_setting="STRIPE_PRICE_PRO",
)
# The free trial shows everything Pro does, so that a seller judges the product
# on its full feature set before choosing a plan.
TRIAL = Plan(
    key="trial",
    name="Free trial",
    monthly_price_cents=0,
    tracked_products=PRO.tracked_products,
    seller_accounts=PRO.seller_accounts,
    history_days=PRO.history_days,
    alert_channels=PRO.alert_channels,
    api_access=True,
)
# A subscription whose price we do not recognise (a misconfigured environment):
# it grants nothing new, and the error is logged where the price is read.
NONE = Plan(
    key="none",
    name="No plan",
    monthly_price_cents=0,
    tracked_products=0,
    seller_accounts=0,
    history_days=STARTER.history_days,
    alert_channels=frozenset(),
    api_access=False,
)

PLANS: dict[str, Plan] = {plan.key: plan for plan in (TRIAL, STARTER, PRO, NONE)}
PAID_PLANS: tuple[Plan, ...] = (STARTER, PRO)


def plan_get(key: str) -> Plan:
    return PLANS.get(key, NONE)


def plan_for_price(*, price_id: str, lookup_key: str | None) -> Plan:
    """The paid plan sold by this Stripe price (matched by id or lookup key), or NONE."""
    for plan in PAID_PLANS:
        if plan.price and plan.price in (price_id, lookup_key):
            return plan
    return NONE
