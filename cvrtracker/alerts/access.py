"""Access helpers for alert rows: a row of another team is a 404 (accounts/access.py)."""

from django.db.models import Q
from django.http import Http404

from cvrtracker.accounts.access import get_team_for_user
from cvrtracker.alerts.models import Alert, AlertChannel, AlertRule
from cvrtracker.amazon.models import SellerConnection


def get_alert_channel_for_user(user, code) -> AlertChannel:
    """A channel of the user's team, by its public code; 404 otherwise."""
    try:
        return AlertChannel.objects.select_related("team", "member").get(
            team=get_team_for_user(user), code=code
        )
    except AlertChannel.DoesNotExist:
        raise Http404("No such alert channel") from None


# pages: Settings → Alerts and the history. Any member of the team may read and manage
# its alerts: each rule records who switched it on, and the services audit each change.


def get_alert_rule_for_user(user, code) -> AlertRule:
    """A rule of the user's team, by its public code; 404 otherwise."""
    try:
        rules = AlertRule.objects.filter(
            Q(connection=None) | Q(connection__in=SellerConnection.objects.live())
        )
        return rules.select_related("team", "connection").get(
            team=get_team_for_user(user), code=code
        )
    except AlertRule.DoesNotExist:
        raise Http404("No such alert rule") from None


def get_alert_for_user(user, code) -> Alert:
    """An alert of the user's team, by its public code; 404 otherwise."""
    try:
        return Alert.objects.select_related("team", "connection").get(
            team=get_team_for_user(user), code=code, connection__in=SellerConnection.objects.live()
        )
    except Alert.DoesNotExist:
        raise Http404("No such alert") from None
