"""Settings → Privacy → usage data (the user's own page views), and the cookie choice."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET

from cvrtracker.privacy.consent import consent_choice, consent_set
from cvrtracker.privacy.forms import ConsentForm
from cvrtracker.privacy.usage import usage_events_for_user, usage_flush

EVENTS_PER_PAGE = 50


@login_required
@require_GET
def usage_panel(request: HttpRequest) -> HttpResponse:
    # This process's pending events first, so the list ends with the page just seen.
    usage_flush()
    paginator = Paginator(usage_events_for_user(user=request.user), EVENTS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    context = {"page": page, "retention_days": settings.USAGE_RETENTION_DAYS}
    return render(request, "privacy/_usage_panel.html", context)


def cookies(request: HttpRequest) -> HttpResponse:
    """The cookie preferences page; its form (and the banner's) posts here."""
    form = ConsentForm(request.POST or None)
    if request.method == "POST":
        if not form.is_valid():
            context = _cookies_context(request, form)
            return render(request, "privacy/cookies.html", context, status=400)
        target = form.cleaned_data["next"]
        safe = url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        response = redirect(target if target and safe else "privacy:cookies")
        consent_set(request=request, response=response, choice=form.cleaned_data["choice"])
        return response
    return render(request, "privacy/cookies.html", _cookies_context(request, form))


def _cookies_context(request: HttpRequest, form: ConsentForm) -> dict:
    return {
        "form": form,
        "choice": consent_choice(request),
        "analytics_script_url": settings.ANALYTICS_SCRIPT_URL,
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "csrf_cookie": settings.CSRF_COOKIE_NAME,
    }
