"""Two-factor log-in: a TOTP authenticator app (django-otp; its seed encrypted,
models.AuthenticatorDevice) and single-use recovery codes.

A user has at most one confirmed TOTP device. Setting one up makes ten recovery
codes, shown once and kept only as digests. A team owner may require a second
factor of every member; staff always need one (`mfa_required_for`).
"""

import base64
import hashlib
import secrets

import segno
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.http import HttpRequest
from django.utils import timezone

from cvrtracker.accounts.models import AuthenticatorDevice, RecoveryCode, Team, User
from cvrtracker.audit.models import AuditEntry
from cvrtracker.audit.services import audit_record

RECOVERY_CODE_COUNT = 10
# 16 characters of base32: 80 bits each, so a stolen digest cannot be searched back
# to its code; shown in groups of four.
RECOVERY_CODE_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
RECOVERY_CODE_LENGTH = 16


class CodeInvalid(Exception):
    """A code that is wrong, already used, or asked for too soon after a wrong one."""


class MFARequired(Exception):
    """Two-factor log-in cannot be turned off: the team or the staff role requires it."""


class MFANotEnabled(Exception):
    """The owner asked to require two-factor log-in without using it themselves."""


def mfa_device(*, user: User) -> AuthenticatorDevice | None:
    """The user's confirmed authenticator, or None."""
    return AuthenticatorDevice.objects.filter(user=user, confirmed=True).first()


def mfa_enabled(*, user: User) -> bool:
    return AuthenticatorDevice.objects.filter(user=user, confirmed=True).exists()


def mfa_enabled_users(*, team: Team) -> set[int]:
    """The ids of `team`'s members who log in with a second factor (for its owner's page)."""
    devices = AuthenticatorDevice.objects.filter(user__membership__team=team, confirmed=True)
    return set(devices.values_list("user_id", flat=True))


def mfa_required_for(*, user: User) -> bool:
    """Whether this user must log in with a second factor: staff, and members of a
    team whose owner requires it."""
    if user.is_staff or user.is_superuser:
        return True
    return Team.objects.filter(memberships__user=user, mfa_required=True).exists()


def mfa_session_state(*, user: User) -> tuple[bool, bool]:
    """(required, enabled) in one query, for the middleware that runs on every page."""
    device = AuthenticatorDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
    row = (
        User.objects.filter(pk=user.pk)
        .annotate(enabled=Exists(device))
        .values_list("membership__team__mfa_required", "enabled")
        .first()
    )
    team_requires, enabled = row or (False, False)
    return bool(team_requires) or user.is_staff or user.is_superuser, bool(enabled)


def mfa_enrolment_device(*, user: User) -> AuthenticatorDevice:
    """The unconfirmed device being set up, made on first call; the same one (and
    so the same QR code) until it is confirmed."""
    devices = AuthenticatorDevice.objects.filter(user=user, confirmed=False)
    device = devices.order_by("-id").first()
    return device or AuthenticatorDevice.objects.create(
        user=user, name="Authenticator app", confirmed=False
    )


def mfa_qr_svg(*, device: AuthenticatorDevice) -> str:
    """The device's otpauth:// URI as an inline SVG QR code (no script, no image request)."""
    qr = segno.make(device.config_url, error="m")
    return qr.svg_inline(scale=5, border=2, dark="#111", light="#fff", title="QR code")


def mfa_secret_text(*, device: AuthenticatorDevice) -> str:
    """The secret in base32, grouped by four, for apps that cannot scan."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def mfa_confirm(
    *, user: User, device: AuthenticatorDevice, code: str, request: HttpRequest | None = None
) -> list[str]:
    """Confirm `device` with a code from the app; returns the new recovery codes.

    Any other device of the user is removed. CodeInvalid for a wrong code."""
    if device.user_id != user.pk or device.confirmed:
        raise CodeInvalid("This set-up has expired. Please start again.")
    with transaction.atomic():
        device = AuthenticatorDevice.objects.select_for_update().get(pk=device.pk)
        if not device.verify_token(_digits(code)):
            raise CodeInvalid("That code is not right. Codes change every 30 seconds.")
        AuthenticatorDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _recovery_codes_replace(user=user)
        audit_record(action=AuditEntry.Action.MFA_ENABLED, request=request, actor=user)
    return codes


def mfa_verify(
    *, user: User, code: str, request: HttpRequest | None = None
) -> tuple[AuthenticatorDevice, bool]:
    """Check a code from the app or an unused recovery code; returns the user's device
    and whether a recovery code was spent.

    Every wrong code is audited; CodeInvalid then."""
    device = mfa_device(user=user)
    if device is None:
        raise CodeInvalid("Two-factor log-in is not set up for this account.")
    compact = "".join(code.split())
    if compact.isdigit() and len(compact) == device.digits:
        with transaction.atomic():
            locked = AuthenticatorDevice.objects.select_for_update().get(pk=device.pk)
            if locked.verify_token(compact):
                return locked, False
    elif _recovery_code_spend(user=user, code=code):
        audit_record(action=AuditEntry.Action.MFA_RECOVERY_USED, request=request, actor=user)
        return device, True
    audit_record(action=AuditEntry.Action.MFA_FAILED, request=request, actor=user)
    raise CodeInvalid("That code is not right.")


def mfa_disable(*, user: User, code: str, request: HttpRequest | None = None) -> None:
    """Remove the user's authenticator and recovery codes, proven by a fresh code
    from the app. MFARequired when the team or the staff role requires it."""
    if mfa_required_for(user=user):
        raise MFARequired("Your team requires two-factor log-in, so it cannot be turned off.")
    device = mfa_device(user=user)
    if device is None:
        return
    _totp_check(user=user, device=device, code=code, request=request)
    with transaction.atomic():
        AuthenticatorDevice.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()
        audit_record(action=AuditEntry.Action.MFA_DISABLED, request=request, actor=user)


def mfa_recovery_codes_renew(
    *, user: User, code: str, request: HttpRequest | None = None
) -> list[str]:
    """New recovery codes (the old ones stop working), proven by a fresh code from the app."""
    device = mfa_device(user=user)
    if device is None:
        raise CodeInvalid("Two-factor log-in is not set up for this account.")
    _totp_check(user=user, device=device, code=code, request=request)
    with transaction.atomic():
        codes = _recovery_codes_replace(user=user)
        audit_record(action=AuditEntry.Action.MFA_RECOVERY_RENEWED, request=request, actor=user)
    return codes


def mfa_recovery_codes_left(*, user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def team_mfa_set(
    *, team: Team, required: bool, actor: User, request: HttpRequest | None = None
) -> None:
    """Require (or stop requiring) a second factor of every member of `team`.

    MFANotEnabled when the owner asks for it without using it: they would be
    sent to set it up on their next page anyway, so they do that first."""
    if required and not mfa_enabled(user=actor):
        raise MFANotEnabled("Turn on two-factor log-in for yourself first (Settings → Security).")
    if team.mfa_required == required:
        return
    team.mfa_required = required
    team.save(update_fields=["mfa_required"])
    Action = AuditEntry.Action
    action = Action.TEAM_MFA_REQUIRED if required else Action.TEAM_MFA_OPTIONAL
    audit_record(action=action, request=request, actor=actor, team=team, target=team)


def recovery_code_digest(*, user: User, code: str) -> str:
    """SHA-256 of the normalised code, salted with the user's public code."""
    normalised = "".join(ch for ch in code.lower() if ch.isalnum())
    return hashlib.sha256(f"{user.code}:{normalised}".encode()).hexdigest()


def _totp_check(*, user: User, device: AuthenticatorDevice, code: str, request) -> None:
    with transaction.atomic():
        locked = AuthenticatorDevice.objects.select_for_update().get(pk=device.pk)
        if locked.verify_token(_digits(code)):
            return
    audit_record(action=AuditEntry.Action.MFA_FAILED, request=request, actor=user)
    raise CodeInvalid("That code is not right. Codes change every 30 seconds.")


def _recovery_codes_replace(*, user: User) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = [
        "".join(secrets.choice(RECOVERY_CODE_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    RecoveryCode.objects.bulk_create(
        RecoveryCode(user=user, digest=recovery_code_digest(user=user, code=c)) for c in codes
    )
    return ["-".join(c[i : i + 4] for i in range(0, len(c), 4)) for c in codes]


def _recovery_code_spend(*, user: User, code: str) -> bool:
    # One conditional UPDATE: two requests racing with the same code cannot both win.
    digest = recovery_code_digest(user=user, code=code)
    spent = RecoveryCode.objects.filter(user=user, digest=digest, used_at__isnull=True).update(
        used_at=timezone.now()
    )
    return spent == 1


def _digits(code: str) -> str:
    # Apps show "123 456"; people paste it with the space.
    return "".join(ch for ch in code if ch.isdigit()) if len(code) <= 20 else ""
