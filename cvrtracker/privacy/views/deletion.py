"""Settings → Privacy → Delete your account, and the page a deleted account lands on."""

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters

from cvrtracker.accounts.mfa import mfa_enabled
from cvrtracker.audit.services import audit_context_from_request
from cvrtracker.privacy.deletion import (
    ReauthenticationFailed,
    account_delete,
    account_deletion_plan,
    account_reauthenticate,
)
from cvrtracker.privacy.forms import AccountDeleteForm


@login_required
@sensitive_post_parameters("password", "code")
def account_delete_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = AccountDeleteForm(request.POST or None, email=user.email, mfa=mfa_enabled(user=user))
    if request.method == "POST" and form.is_valid():
        context = audit_context_from_request(request)
        try:
            account_reauthenticate(
                user=user,
                password=form.cleaned_data["password"],
                code=form.cleaned_data.get("code", ""),
                context=context,
            )
        except ReauthenticationFailed as failed:
            form.add_error(failed.field, f"{failed} Nothing was deleted.")
        else:
            account_delete(user=user, context=context)
            logout(request)
            return redirect("privacy:account_deleted")
    context = {
        "section": "privacy",
        "form": form,
        "plan": account_deletion_plan(user=user),
        "grace_days": settings.ACCOUNT_DELETION_GRACE_DAYS,
    }
    return render(request, "privacy/account_delete.html", context)


def account_deleted(request: HttpRequest) -> HttpResponse:
    return render(request, "privacy/account_deleted.html")
