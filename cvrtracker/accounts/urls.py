from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from cvrtracker.accounts import mfa_views, views

app_name = "accounts"

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("signup/done/", views.signup_done, name="signup_done"),
    path("verify/<str:token>/", views.verify_email, name="verify_email"),
    path("verify-again/", views.resend_verification, name="resend_verification"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/code/", views.login_mfa, name="login_mfa"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(
            template_name="accounts/password_reset.html",
            email_template_name="emails/password-reset-body.txt",
            subject_template_name="emails/password-reset-subject.txt",
            success_url=reverse_lazy("accounts:password_reset_done"),
            extra_email_context={"site_root": settings.SITE_ROOT},
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("invitation/<str:token>/", views.invitation, name="invitation"),
    path("settings/profile/", views.profile, name="profile"),
    path("settings/team/", views.team, name="team"),
    path("settings/team/access-log/", views.access_log, name="access_log"),
    path("settings/team/access-log.csv", views.access_log_export, name="access_log_export"),
    path("settings/team/members/<uuid:code>/remove/", views.member_remove, name="member_remove"),
    path(
        "settings/team/invitations/<uuid:code>/cancel/",
        views.invitation_cancel,
        name="invitation_cancel",
    ),
    path("settings/team/two-factor/", mfa_views.team_mfa, name="team_mfa"),
    path("settings/security/", views.security, name="security"),
    path("settings/security/two-factor/", mfa_views.mfa_setup, name="mfa_setup"),
    path("settings/security/two-factor/off/", mfa_views.mfa_disable, name="mfa_disable"),
    path(
        "settings/security/two-factor/recovery-codes/",
        mfa_views.mfa_recovery_renew,
        name="mfa_recovery_renew",
    ),
    path("settings/security/sessions/end/", views.sessions_end_others, name="sessions_end_others"),
    path("settings/security/password/", views.PasswordChangeView.as_view(), name="password_change"),
]
