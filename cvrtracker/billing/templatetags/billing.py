"""{% billing_banner %}: the trial, past-due and read-only notice at the top of every page."""

from django import template
from django.conf import settings
from django.http import Http404

from cvrtracker.accounts.access import get_team_for_user
from cvrtracker.billing.models import Phase
from cvrtracker.billing.services import subscription_for_team

register = template.Library()

# The trial is mentioned on every page only near its end; the billing page always shows it.
TRIAL_NOTICE_DAYS = 3


@register.inclusion_tag("billing/_banner.html", takes_context=True)
def billing_banner(context) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    if not settings.BILLING_ENFORCED or user is None or not user.is_authenticated:
        return {"banner": None}
    try:
        sub = subscription_for_team(team=get_team_for_user(user))
    except Http404:
        return {"banner": None}
    phase = sub.phase()
    banner = None
    if phase == Phase.PAST_DUE:
        banner = {
            "level": "error",
            "text": "Your last payment failed. Update your card by "
            f"{sub.grace_ends_at():%B} {sub.grace_ends_at().day} to keep full access.",
            "link": "Update payment",
        }
    elif sub.is_read_only():
        banner = {
            "level": "warning",
            "text": "Your account is read-only: your data is kept, but nothing syncs.",
            "link": "Choose a plan",
        }
    elif phase == Phase.TRIAL and sub.days_left() <= TRIAL_NOTICE_DAYS and not sub.on_stripe:
        days = sub.days_left()
        banner = {
            "level": "warning",
            "text": f"Your free trial ends in {days} day{'s' if days != 1 else ''}.",
            "link": "Choose a plan",
        }
    return {"banner": banner}
