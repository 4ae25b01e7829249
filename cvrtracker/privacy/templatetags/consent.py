"""{% consent %}: the cookie banner before a choice, the analytics script after an opt-in.

Both come from privacy/consent.py; the template holds no script of its own (CSP)."""

from django import template
from django.conf import settings
from django.urls import reverse

from cvrtracker.privacy.consent import analytics_allowed, banner_wanted

register = template.Library()


@register.inclusion_tag("privacy/_consent.html", takes_context=True)
def consent(context) -> dict:
    request = context.get("request")
    if request is None:
        return {}
    cookies_url = reverse("privacy:cookies")
    return {
        "banner": banner_wanted(request) and request.path != cookies_url,
        "script_url": settings.ANALYTICS_SCRIPT_URL if analytics_allowed(request) else "",
        "next": request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
    }
