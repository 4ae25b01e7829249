"""Access helpers for alert rows: a row of another team is a 404 (accounts/access.py)."""

from django.http import Http404

from cvrtracker.accounts.access import get_team_for_user
from cvrtracker.alerts.models import AlertChannel


def get_alert_channel_for_user(user, code) -> AlertChannel:
    """A channel of the user's team, by its public code; 404 otherwise."""
    try:
        return AlertChannel.objects.select_related("team", "member").get(
            team=get_team_for_user(user), code=code
        )
    except AlertChannel.DoesNotExist:
        raise Http404("No such alert channel") from None
