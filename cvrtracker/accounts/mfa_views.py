"""Two-factor log-in in Settings: set-up by QR code, recovery codes, turning it off, and
the team owner's requirement. The code step of log-in is in views.py, beside LoginView."""

import django_otp
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from cvrtracker.accounts import access, mfa, services
from cvrtracker.accounts.forms import MFACodeForm, TeamMFAForm


@never_cache
@login_required
@sensitive_post_parameters("code")
def mfa_setup(request: HttpRequest) -> HttpResponse:
    """Scan a QR code, confirm with a code; the recovery codes are shown once."""
    user = request.user
    if mfa.mfa_enabled(user=user):
        return redirect("accounts:security")
    device = mfa.mfa_enrolment_device(user=user)
    form = MFACodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = mfa.mfa_confirm(
                user=user, device=device, code=form.cleaned_data["code"], request=request
            )
        except mfa.CodeInvalid as invalid:
            form.add_error("code", str(invalid))
        else:
            django_otp.login(request, device)
            services.user_end_sessions(user=user, keep_session_key=request.session.session_key)
            return _show_recovery_codes(request, codes, first=True)
    context = {
        "section": "security",
        "form": form,
        "qr_svg": mfa.mfa_qr_svg(device=device),
        "secret": mfa.mfa_secret_text(device=device),
        "required": mfa.mfa_required_for(user=user),
    }
    return render(request, "accounts/mfa_setup.html", context)


@never_cache
@login_required
@require_POST
@sensitive_post_parameters("code")
def mfa_disable(request: HttpRequest) -> HttpResponse:
    form = MFACodeForm(request.POST)
    try:
        if not form.is_valid():
            raise mfa.CodeInvalid("Enter a code from your authenticator app.")
        mfa.mfa_disable(user=request.user, code=form.cleaned_data["code"], request=request)
    except (mfa.CodeInvalid, mfa.MFARequired) as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, "Two-factor log-in is off.")
    return redirect("accounts:security")


@never_cache
@login_required
@require_POST
@sensitive_post_parameters("code")
def mfa_recovery_renew(request: HttpRequest) -> HttpResponse:
    form = MFACodeForm(request.POST)
    try:
        if not form.is_valid():
            raise mfa.CodeInvalid("Enter a code from your authenticator app.")
        codes = mfa.mfa_recovery_codes_renew(
            user=request.user, code=form.cleaned_data["code"], request=request
        )
    except mfa.CodeInvalid as refused:
        messages.error(request, str(refused))
        return redirect("accounts:security")
    return _show_recovery_codes(request, codes, first=False)


@login_required
@require_POST
def team_mfa(request: HttpRequest) -> HttpResponse:
    """The owner requires (or stops requiring) two-factor log-in of every member."""
    team = access.get_owned_team_for_user(request.user)
    form = TeamMFAForm(request.POST)
    required = form.is_valid() and form.cleaned_data["required"]
    try:
        mfa.team_mfa_set(team=team, required=required, actor=request.user, request=request)
    except mfa.MFANotEnabled as refused:
        messages.error(request, str(refused))
    else:
        messages.success(
            request,
            "Every member now logs in with a second factor."
            if required
            else "Two-factor log-in is now up to each member.",
        )
    return redirect("accounts:team")


def _show_recovery_codes(request: HttpRequest, codes: list[str], *, first: bool) -> HttpResponse:
    # Rendered, not redirected to: the codes exist nowhere else and are never shown again.
    context = {"section": "security", "codes": codes, "first": first}
    return render(request, "accounts/mfa_codes.html", context)
