"""Billing's access helper, beside accounts/access.py's: records of the user's own team only."""

from django.http import Http404

from cvrtracker.accounts.access import get_team_for_user
from cvrtracker.accounts.models import User
from cvrtracker.billing.models import BillingRecord


def get_billing_record_for_user(user: User, code) -> BillingRecord:
    """An invoice record of the user's team, by its public code; 404 otherwise."""
    try:
        return BillingRecord.objects.get(team=get_team_for_user(user), code=code)
    except BillingRecord.DoesNotExist:
        raise Http404("No such invoice") from None
