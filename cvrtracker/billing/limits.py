"""What a team's plan allows: the functions other apps call before they act.

Every refusal carries a message a seller understands and the upgrade link.
Nothing here deletes or hides data a team already has: over a limit, existing
rows stay; only new ones are refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.urls import reverse

from cvrtracker.accounts.models import Team
from cvrtracker.billing.plans import Plan
from cvrtracker.billing.services import subscription_for_team

# The features other apps ask about.
CONNECT_SELLER_ACCOUNT = "connect_seller_account"
TRACK_PRODUCT = "track_product"
SYNC = "sync"
API = "api"
ALERT_CHANNEL = "alert_channel"

READ_ONLY_MESSAGE = (
    "Your subscription has ended, so your account is read-only. "
    "Your data is kept; choose a plan to resume."
)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    message: str = ""
    upgrade_url: str = ""

    def __bool__(self) -> bool:
        return self.allowed


class PlanLimitError(Exception):
    """Raised by team_require; views show `message` with a link to `upgrade_url`."""

    def __init__(self, decision: Decision):
        super().__init__(decision.message)
        self.message = decision.message
        self.upgrade_url = decision.upgrade_url


def plan_limits_for_team(team: Team) -> Plan:
    """The plan whose limits apply to the team now (trial, paid, or the last paid one)."""
    return subscription_for_team(team=team).effective_plan()


def team_is_read_only(team: Team) -> bool:
    """True when the team may look at its data but not add, sync or change any."""
    return subscription_for_team(team=team).is_read_only()


def _refuse(message: str) -> Decision:
    return Decision(False, message, reverse("billing:page"))


def team_can(team: Team, feature: str, *, current: int = 0, channel: str = "") -> Decision:
    """May the team do `feature` now? `current` is how many it already has
    (seller accounts, tracked products); `channel` names an alert channel."""
    sub = subscription_for_team(team=team)
    if sub.is_read_only():
        return _refuse(READ_ONLY_MESSAGE)
    plan = sub.effective_plan()
    if feature == CONNECT_SELLER_ACCOUNT and current >= plan.seller_accounts:
        return _refuse(
            f"Your {plan.name} plan includes {plan.seller_accounts} Amazon seller "
            f"account{'s' if plan.seller_accounts != 1 else ''}. Upgrade to connect more."
        )
    if feature == TRACK_PRODUCT and current >= plan.tracked_products:
        return _refuse(
            f"Your {plan.name} plan tracks up to {plan.tracked_products} products. "
            "The products you track are kept; upgrade to track more."
        )
    if feature == API and not plan.api_access:
        return _refuse(f"The API is not part of your {plan.name} plan. Upgrade to use it.")
    if feature == ALERT_CHANNEL and channel not in plan.alert_channels:
        return _refuse(
            f"{channel.title()} alerts are not part of your {plan.name} plan. Upgrade to use them."
        )
    return Decision(True)


def tracked_products_room(team: Team, *, current: int) -> int:
    """How many more products the team may track now (0 when read-only): the
    listings sync asks once per run instead of calling team_can per product."""
    sub = subscription_for_team(team=team)
    if sub.is_read_only():
        return 0
    return max(0, sub.effective_plan().tracked_products - current)


def team_require(team: Team, feature: str, *, current: int = 0, channel: str = "") -> None:
    """Like team_can, but raises PlanLimitError when refused."""
    decision = team_can(team, feature, current=current, channel=channel)
    if not decision:
        raise PlanLimitError(decision)


def team_require_writable(team: Team) -> None:
    """Raises PlanLimitError when the team is read-only; for changes no limit counts."""
    if team_is_read_only(team):
        raise PlanLimitError(_refuse(READ_ONLY_MESSAGE))


def history_start_for_team(team: Team, *, today: date) -> date:
    """The first day the team's plan shows. Older rows are kept, only not shown,
    so that an upgrade brings them back."""
    return today - timedelta(days=plan_limits_for_team(team).history_days - 1)
