"""Unsubscribe and address confirmation, without logging in: the signed token is the authority.

Neither changes anything on GET: mail scanners open links. GET shows a page with a
button; the POST does it. The unsubscribe POST is csrf-exempt because RFC 8058's
one-click POST comes from the mail client, without a form token.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from cvrtracker.alerts import channels as services


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        if request.method == "POST":
            subscription = services.alert_unsubscribe(token=token, request=request)
            done = True
        else:
            subscription = services.rule_channel_for_token(token)
            done = subscription.unsubscribed_at is not None
    except services.TokenInvalid as error:
        return render(request, "alerts/public_invalid.html", {"reason": str(error)}, status=400)
    return render(
        request, "alerts/public_unsubscribe.html", {"subscription": subscription, "done": done}
    )


@require_http_methods(["GET", "POST"])
def channel_confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        if request.method == "POST":
            channel = services.alert_channel_confirm(token=token)
            done = True
        else:
            channel = services.alert_channel_for_confirm_token(token)
            done = channel.confirmed_at is not None
    except services.TokenInvalid as error:
        return render(request, "alerts/public_invalid.html", {"reason": str(error)}, status=400)
    return render(request, "alerts/public_confirm.html", {"channel": channel, "done": done})
