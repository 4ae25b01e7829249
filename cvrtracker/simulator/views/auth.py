"""Login with Amazon: the consent page and the token endpoint."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.http import require_http_methods

from ..lwa import GrantError
from .common import json_response, sign_page, sim_of, unsign_page

CONSENT_SALT = "simulator.consent"
CONSENT_MAX_AGE = 600
LOGIN_SALT = "simulator.login"


def _page(title: str, body: SafeString | str, status: int = 200) -> HttpResponse:
    """A page with `body`: markup built with format_html, or plain text shown as a paragraph
    (escaped, never rendered as markup)."""
    if not isinstance(body, SafeString):
        body = format_html("<p>{}</p>", body)
    html = format_html(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{}</title>"
        "<meta name='referrer' content='no-referrer'></head><body>"
        "<h1>{}</h1>{}<p><small>Amazon SP-API simulator (not Amazon)</small></p></body></html>",
        title,
        title,
        body,
    )
    response = HttpResponse(html, status=status)
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response


def _authorization_error(code: str, message: str) -> HttpResponse:
    return _page(
        "We could not authorize the application",
        format_html("<p>{}</p><p>Error code: <strong>{}</strong></p>", message, code),
        status=400,
    )


@require_http_methods(["GET", "POST"])
def consent(request: HttpRequest) -> HttpResponse:
    """Seller Central's consent page: GET shows the app and Confirm, POST grants."""
    if request.method == "POST":
        return _confirm(request)
    sim = sim_of(request)
    app = sim.app
    params = request.GET
    if params.get("application_id") != app.application_id:
        return _page(
            "We could not authorize the application",
            "No application is registered under this application ID.",
            400,
        )
    if app.draft and params.get("version") != "beta":
        return _authorization_error(
            "MD1000", "This application is in draft state and needs version=beta."
        )
    redirect_uri = params.get("redirect_uri") or app.redirect_uris[0]
    if redirect_uri not in app.redirect_uris:
        return _authorization_error(
            "MD5101", "The redirect_uri is not one of the application's redirect URIs."
        )
    token = sign_page(
        request,
        {"redirect_uri": redirect_uri, "state": params.get("state", "")},
        CONSENT_SALT,
    )
    options = format_html_join(
        "",
        "<option value='{}'>{} ({})</option>",
        ((s.id, s.store_name, s.id) for s in sim.world.sellers),
    )
    form = format_html(
        "<p>The application <strong>{}</strong> asks for access to your selling account: "
        "listings, inventory, orders (no buyer information) and reports.</p>"
        "<form method='post' action='/apps/authorize/consent'>"
        "<input type='hidden' name='consent_token' value='{}'>"
        "<label>Account <select name='selling_partner_id'>{}</select></label> "
        "<button type='submit' name='decision' value='confirm'>Confirm</button> "
        "<button type='submit' name='decision' value='cancel'>Cancel</button></form>",
        app.application_id,
        token,
        options,
    )
    return _page("Authorize application", form)


def _confirm(request: HttpRequest) -> HttpResponse:
    sim = sim_of(request)
    payload = unsign_page(
        request, request.POST.get("consent_token", ""), CONSENT_SALT, CONSENT_MAX_AGE
    )
    if payload is None:
        return _page("This consent page has expired", "Start again from the app.", 400)
    seller = sim.world.seller(request.POST.get("selling_partner_id", ""))
    if seller is None:
        return _page("Unknown account", "Choose one of the accounts offered.", 400)
    if request.POST.get("decision") != "confirm":
        return _page("Authorization cancelled", "The application got no access.")
    if sim.app.login_uri:
        amazon_state = sign_page(
            request, {"seller": seller.id, "redirect_uri": payload["redirect_uri"]}, LOGIN_SALT
        )
        hop = {
            "amazon_callback_uri": f"{sim.base_url}/apps/authorize/confirm",
            "amazon_state": amazon_state,
            "selling_partner_id": seller.id,
        }
        if sim.app.draft:
            hop["version"] = "beta"
        return _redirect(sim.app.login_uri, hop)
    return _redirect_with_code(request, seller.id, payload["redirect_uri"], payload["state"])


def _redirect(uri: str, params: dict[str, str]) -> HttpResponse:
    return HttpResponseRedirect(uri + ("&" if "?" in uri else "?") + urlencode(params))


def _redirect_with_code(
    request: HttpRequest, seller_id: str, redirect_uri: str, state: str
) -> HttpResponse:
    sim = sim_of(request)
    code = sim.grants.issue_code(seller_id, redirect_uri, sim.clock.now())
    return _redirect(
        redirect_uri, {"state": state, "selling_partner_id": seller_id, "spapi_oauth_code": code}
    )


@require_http_methods(["GET"])
def login_callback(request: HttpRequest) -> HttpResponse:
    """amazon_callback_uri: the app's log-in page sends the seller back here after sign-in."""
    sim = sim_of(request)
    payload = unsign_page(request, request.GET.get("amazon_state", ""), LOGIN_SALT, CONSENT_MAX_AGE)
    if payload is None:
        return _page(
            "We could not authorize the application",
            "The sign-in took too long or the link was altered. Start again from the app.",
            400,
        )
    redirect_uri = request.GET.get("redirect_uri") or payload["redirect_uri"]
    if redirect_uri not in sim.app.redirect_uris:
        return _authorization_error(
            "MD5101", "The redirect_uri is not one of the application's redirect URIs."
        )
    return _redirect_with_code(
        request, payload["seller"], redirect_uri, request.GET.get("state", "")
    )


@require_http_methods(["POST"])
def token(request: HttpRequest) -> HttpResponse:
    """POST /auth/o2/token: authorization_code, refresh_token or client_credentials grant."""
    sim = sim_of(request)
    if request.content_type == "application/json":
        try:
            form = QueryDict(mutable=True)
            form.update({k: str(v) for k, v in json.loads(request.body or b"{}").items()})
        except (ValueError, AttributeError):
            return json_response(
                {"error_description": "Malformed request", "error": "invalid_request"}, 400
            )
    else:
        form = request.POST
    grant_type = form.get("grant_type", "")
    try:
        for name in ("grant_type", "client_id", "client_secret"):
            if not form.get(name):
                raise GrantError(
                    "invalid_request", f"The request is missing a required parameter : {name}"
                )
        sim.grants.check_client(form["client_id"], form["client_secret"])
        now = sim.clock.now()
        if grant_type == "authorization_code":
            if not form.get("code"):
                raise GrantError(
                    "invalid_request", "The request is missing a required parameter : code"
                )
            body = sim.grants.exchange_code(form["code"], form.get("redirect_uri"), now)
        elif grant_type == "refresh_token":
            if not form.get("refresh_token"):
                raise GrantError(
                    "invalid_request", "The request is missing a required parameter : refresh_token"
                )
            body = sim.grants.refresh(form["refresh_token"], now)
        elif grant_type == "client_credentials":
            body = sim.grants.client_credentials(form.get("scope", ""), now)
        else:
            raise GrantError(
                "unsupported_grant_type", "The authorization grant type is not supported."
            )
    except GrantError as error:
        return json_response(error.body(), error.status, **{"Cache-Control": "no-store"})
    return json_response(body, 200, **{"Cache-Control": "no-store", "Pragma": "no-cache"})
