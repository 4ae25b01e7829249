import csv
import time
from urllib.parse import urlencode

import django_otp
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.contrib.sessions.models import Session
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from cvrtracker.accounts import access, mfa, services
from cvrtracker.accounts.forms import (
    AccessLogForm,
    InviteForm,
    LoginForm,
    MFACodeForm,
    ProfileForm,
    SignupForm,
    TeamNameForm,
)
from cvrtracker.accounts.middleware import AUTH_AT, LAST_SEEN
from cvrtracker.accounts.models import User
from cvrtracker.audit.models import AuditEntry
from cvrtracker.audit.selectors import (
    AuditFilter,
    InvalidCursor,
    audit_log_entries,
    audit_log_page,
)
from cvrtracker.audit.services import audit_context_from_request, audit_record


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard:overview")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.user_signup(
            name=form.cleaned_data["name"],
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password"],
        )
        # The same page whether or not the address already had an account.
        return redirect("accounts:signup_done")
    return render(request, "accounts/signup.html", {"form": form})


def signup_done(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/signup_done.html")


def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    try:
        user = services.user_verify_email(token=token)
    except services.TokenInvalid as error:
        return render(request, "accounts/link_invalid.html", {"reason": str(error)}, status=400)
    messages.success(request, f"Thank you: {user.email} is confirmed.")
    return redirect("accounts:profile" if request.user.is_authenticated else "accounts:login")


@login_required
@require_POST
def resend_verification(request: HttpRequest) -> HttpResponse:
    user = request.user
    email = user.pending_email or (None if user.email_verified else user.email)
    if email:
        services.user_send_verification(user=user, email=email)
        messages.success(request, f"We sent a new confirmation link to {email}.")
    return redirect("accounts:profile")


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if mfa.mfa_enabled(user=user):
            return login_pending(self.request, user=user, next_url=self.get_success_url())
        response = super().form_valid(form)  # login() gives the session a new key
        login_started(self.request)
        return response

    def form_invalid(self, form):
        # Kept for the account's owner and for us; the page says nothing about it.
        email = form.data.get("username", "").strip().lower()
        # nosemgrep: cvrt-unscoped-queryset-in-views (a failed log-in names no team yet)
        actor = User.objects.filter(email=email).first() if email else None
        audit_record(action=AuditEntry.Action.LOGIN_FAILED, request=self.request, actor=actor)
        return super().form_invalid(form)


def login_started(request: HttpRequest) -> None:
    """What every log-in does once it is complete: timestamps, the session's record, audit."""
    now = time.time()
    session = request.session
    session[AUTH_AT] = now
    session[LAST_SEEN] = now
    session.save()
    services.user_session_start(
        user=request.user,
        session_key=session.session_key,
        ip=request.META.get("REMOTE_ADDR"),
        user_agent=request.headers.get("User-Agent", ""),
    )
    audit_record(action=AuditEntry.Action.LOGIN, request=request)


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            services.user_session_forget(session_key=request.session.session_key)
            audit_record(action=AuditEntry.Action.LOGOUT, request=request)
        return super().post(request, *args, **kwargs)


# The session's record of a correct password that waits for its second factor.
MFA_PENDING = "mfa_pending"


def login_pending(request: HttpRequest, *, user: User, next_url: str) -> HttpResponse:
    """Hold a log-in whose password was right until the second factor is given."""
    request.session[MFA_PENDING] = {
        "user": user.pk,
        "backend": user.backend,
        "at": time.time(),
        "next": next_url,
    }
    return redirect("accounts:login_mfa")


@never_cache
@sensitive_post_parameters("code")
def login_mfa(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(MFA_PENDING) or {}
    user = _pending_user(pending)
    if user is None:
        request.session.pop(MFA_PENDING, None)
        return redirect("accounts:login")
    # django-axes counts a wrong code as a failed log-in of this email from this IP,
    # so password and code guesses share one limit.
    credentials = {settings.AXES_USERNAME_FORM_FIELD: user.email}
    if AxesProxyHandler.is_locked(request, credentials):
        request.session.pop(MFA_PENDING, None)
        return lockout(request)
    form = MFACodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device, recovery = mfa.mfa_verify(
                user=user, code=form.cleaned_data["code"], request=request
            )
        except mfa.CodeInvalid:
            user_login_failed.send(sender=__name__, credentials=credentials, request=request)
            form.add_error("code", "That code is not right. Try the newest one from your app.")
        else:
            del request.session[MFA_PENDING]
            auth_login(request, user, backend=pending["backend"])
            django_otp.login(request, device)
            login_started(request)
            if recovery:
                left = mfa.mfa_recovery_codes_left(user=user)
                messages.warning(
                    request,
                    f"You used a recovery code; {left} left. Make new ones in Settings → Security.",
                )
            return redirect(pending["next"])
    return render(request, "accounts/login_mfa.html", {"form": form})


def _pending_user(pending: dict) -> User | None:
    if not pending or time.time() - pending.get("at", 0) > settings.MFA_LOGIN_WINDOW_SECONDS:
        return None
    # nosemgrep: cvrt-unscoped-queryset-in-views (the user who passed the password step)
    return User.objects.filter(pk=pending.get("user"), is_active=True).first()


def lockout(request: HttpRequest, credentials=None, *args, **kwargs) -> HttpResponse:
    """django-axes calls this once an email and IP pair has failed too often."""
    form = LoginForm(request)
    context = {"form": form, "locked_out": True}
    return render(request, "accounts/login.html", context, status=429)


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = ProfileForm(
        request.POST or None, user=user, initial={"name": user.name, "email": user.email}
    )
    if request.method == "POST" and form.is_valid():
        sent = services.user_update_profile(
            user=user,
            name=form.cleaned_data["name"],
            email=form.cleaned_data["email"],
            context=audit_context_from_request(request),
        )
        if sent:
            messages.info(
                request,
                f"We sent a link to {user.pending_email}. Your email changes once you follow it.",
            )
        messages.success(request, "Your profile is saved.")
        return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form, "section": "profile"})


@login_required
def team(request: HttpRequest) -> HttpResponse:
    membership = access.get_membership_for_user(request.user)
    the_team = membership.team
    invite_form = InviteForm(request.POST or None if "invite" in request.POST else None)
    name_form = TeamNameForm(
        request.POST if "rename" in request.POST else None, initial={"name": the_team.name}
    )
    if request.method == "POST":
        the_team = access.get_owned_team_for_user(request.user)
        if "invite" in request.POST and invite_form.is_valid():
            email = invite_form.cleaned_data["email"]
            services.team_invite(
                team=the_team,
                email=email,
                actor=request.user,
                context=audit_context_from_request(request),
            )
            messages.success(request, f"Invitation sent to {email}.")
            return redirect("accounts:team")
        if "rename" in request.POST and name_form.is_valid():
            services.team_rename(
                team=the_team,
                name=name_form.cleaned_data["name"],
                actor=request.user,
                context=audit_context_from_request(request),
            )
            messages.success(request, "Team name saved.")
            return redirect("accounts:team")
    context = {
        "section": "team",
        "team": the_team,
        "membership": membership,
        "members": the_team.memberships.select_related("user").order_by("created_at"),
        "mfa_users": mfa.mfa_enabled_users(team=the_team),
        # Sorted here: the addresses are encrypted, so the database cannot order them.
        "invitations": sorted(
            the_team.invitations.filter(accepted_at__isnull=True), key=lambda i: i.email
        ),
        "invite_form": invite_form,
        "name_form": name_form,
    }
    return render(request, "accounts/team.html", context)


ACCESS_LOG_PAGE_SIZE = 50
# What an entry's target_type (the model's name) is called on the access log.
TARGET_LABELS = {
    "sellerconnection": "Seller account",
    "apikey": "API key",
    "listing": "Product",
    "membership": "Member",
    "invitation": "Invitation",
    "user": "User",
    "team": "Team",
}


@login_required
def access_log(request: HttpRequest) -> HttpResponse:
    """The team's audit trail, for its owner: every entry, data reads included."""
    the_team = access.get_owned_team_for_user(request.user)
    form, audit_filter, cursor = _access_log_filter(request, the_team)
    try:
        page = audit_log_page(
            team=the_team, filter=audit_filter, cursor=cursor, limit=ACCESS_LOG_PAGE_SIZE
        )
    except InvalidCursor as invalid:
        messages.error(request, str(invalid))
        page = audit_log_page(team=the_team, filter=audit_filter, limit=ACCESS_LOG_PAGE_SIZE)
        cursor = ""
    for entry in page.entries:
        entry.target_label = TARGET_LABELS.get(entry.target_type, entry.target_type)
    filters = form.query() if form.is_bound and form.is_valid() else {}
    context = {
        "section": "access_log",
        "form": form,
        "entries": page.entries,
        "first_page": cursor == "",
        "first_query": urlencode(filters),
        "export_query": urlencode(filters),
        "next_query": urlencode({**filters, "cursor": page.next_cursor})
        if page.next_cursor
        else "",
    }
    return render(request, "accounts/access_log.html", context)


@login_required
@require_GET
def access_log_export(request: HttpRequest) -> HttpResponse:
    """The access log as CSV, through the page's filters; the download is audited too."""
    the_team = access.get_owned_team_for_user(request.user)
    form, audit_filter, _ = _access_log_filter(request, the_team)
    filters = form.query() if form.is_bound and form.is_valid() else {}
    # Recorded first: the download lists its own entry.
    audit_record(
        action=AuditEntry.Action.ACCESS_LOG_EXPORTED,
        context=audit_context_from_request(request),
        team=the_team,
        target=the_team,
        detail=urlencode(filters),
    )
    entries = audit_log_entries(team=the_team, filter=audit_filter)
    response = StreamingHttpResponse(
        _access_log_csv(entries.iterator(chunk_size=1000)),
        content_type="text/csv; charset=utf-8",
    )
    day = timezone.now().date().isoformat()
    response["Content-Disposition"] = f'attachment; filename="access-log-{day}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


ACCESS_LOG_CSV_HEADER = (
    "When (UTC)",
    "Who",
    "Email",
    "Action",
    "What",
    "Object",
    "Detail",
    "IP address",
    "Browser",
    "Entry",
    "Hash",
)


def _access_log_csv(entries):
    writer = csv.writer(_Echo())
    yield "\ufeff"  # so spreadsheet programs read UTF-8
    yield writer.writerow(ACCESS_LOG_CSV_HEADER)
    for entry in entries:
        actor = entry.actor
        row = (
            entry.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            actor.name if actor else "",
            actor.email if actor else "",
            entry.action,
            TARGET_LABELS.get(entry.target_type, entry.target_type),
            entry.target_code,
            entry.detail,
            entry.ip or "",
            entry.user_agent,
            entry.seq or "",
            entry.hash,
        )
        yield writer.writerow([_cell(value) for value in row])


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value):
    # Spreadsheets run a cell starting with = + - @ as a formula (CSV injection), and
    # the browser and detail columns hold text anyone can send.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _access_log_filter(request: HttpRequest, team):
    """The access log's form, the filter it asks for (everything if it is not
    valid, with a message saying so) and the page cursor."""
    members = team.memberships.select_related("user").order_by("created_at")
    form = AccessLogForm(request.GET or None, members=members)
    if form.is_bound and form.is_valid():
        return form, form.audit_filter(), form.cleaned_data["cursor"]
    if form.is_bound:
        messages.error(request, "That filter is not one of the choices: showing everything.")
    return form, AuditFilter(), ""


@login_required
@require_POST
def member_remove(request: HttpRequest, code) -> HttpResponse:
    membership = access.get_member_for_owner(request.user, code)
    if membership.is_owner:
        messages.error(request, "The owner cannot be removed from the team.")
    else:
        services.member_remove(
            membership=membership,
            actor=request.user,
            context=audit_context_from_request(request),
        )
        messages.success(request, f"{membership.user.email} no longer has access to this team.")
    return redirect("accounts:team")


@login_required
@require_POST
def invitation_cancel(request: HttpRequest, code) -> HttpResponse:
    invitation = access.get_invitation_for_owner(request.user, code)
    services.invitation_cancel(
        invitation=invitation, actor=request.user, context=audit_context_from_request(request)
    )
    messages.success(request, f"The invitation to {invitation.email} is cancelled.")
    return redirect("accounts:team")


def invitation(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invite = services.invitation_from_token(token=token)
    except services.TokenInvalid as error:
        return render(request, "accounts/link_invalid.html", {"reason": str(error)}, status=400)
    if request.user.is_authenticated:
        return render(request, "accounts/invitation_existing.html", {"invitation": invite})
    form = SignupForm(request.POST or None, invitation_email=invite.email)
    if request.method == "POST" and form.is_valid():
        user = services.user_signup(
            name=form.cleaned_data["name"],
            email=invite.email,
            password=form.cleaned_data["password"],
            invitation=invite,
        )
        if user is None:
            return render(request, "accounts/invitation_existing.html", {"invitation": invite})
        messages.success(request, f"Welcome to {invite.team.name}. Please log in.")
        return redirect("accounts:login")
    return render(request, "accounts/signup.html", {"form": form, "invitation": invite})


@login_required
def security(request: HttpRequest) -> HttpResponse:
    current = request.session.session_key
    # nosemgrep: cvrt-unscoped-queryset-in-views (session keys only, then the user's own)
    live_keys = Session.objects.filter(expire_date__gt=timezone.now()).values("session_key")
    sessions = request.user.sessions.filter(session_key__in=live_keys).order_by("-last_seen_at")
    events = (
        # nosemgrep: cvrt-unscoped-queryset-in-views (the user's own entries)
        AuditEntry.objects.filter(actor=request.user)
        .exclude(action__in=AuditEntry.DATA_READS)
        .order_by("-created_at")[:20]
    )
    context = {
        "section": "security",
        "sessions": sessions,
        "current_key": current,
        "events": events,
        "mfa_enabled": mfa.mfa_enabled(user=request.user),
        "mfa_required": mfa.mfa_required_for(user=request.user),
        "recovery_left": mfa.mfa_recovery_codes_left(user=request.user),
        "code_form": MFACodeForm(),
    }
    return render(request, "accounts/security.html", context)


@login_required
@require_POST
def sessions_end_others(request: HttpRequest) -> HttpResponse:
    ended = services.user_end_sessions(
        user=request.user, keep_session_key=request.session.session_key
    )
    audit_record(action=AuditEntry.Action.SESSIONS_ENDED, request=request)
    messages.success(request, f"Logged out {ended} other session{'s' if ended != 1 else ''}.")
    return redirect("accounts:security")


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/security_password.html"
    success_url = reverse_lazy("accounts:security")
    extra_context = {"section": "security"}

    def form_valid(self, form):
        # Django keeps this session (update_session_auth_hash); every other
        # session of the user stops matching the new password hash.
        response = super().form_valid(form)
        services.user_end_sessions(
            user=self.request.user, keep_session_key=self.request.session.session_key
        )
        audit_record(action=AuditEntry.Action.PASSWORD_CHANGED, request=self.request)
        messages.success(self.request, "Your password is changed; other sessions are logged out.")
        return response


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:login")
    post_reset_login = False

    def form_valid(self, form):
        response = super().form_valid(form)
        services.user_end_sessions(user=self.user)
        audit_record(action=AuditEntry.Action.PASSWORD_RESET, request=self.request, actor=self.user)
        return response
