import uuid

from django import forms
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key

from cvrtracker.lib.fields import (
    BlindIndexField,
    EncryptedTextField,
    IndexedSaveMixin,
)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields):
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields):
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(IndexedSaveMixin, AbstractBaseUser, PermissionsMixin):
    """A person who logs in. Their data hangs off their team, not off them.

    The address, name and pending address are encrypted (lib/fields.py); the address
    is found by its blind index (log-in, password reset, duplicate checks)."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = EncryptedTextField(max_length=254, form_class=forms.EmailField)
    email_index = BlindIndexField(source="email", purpose="email", unique=True)
    name = EncryptedTextField(max_length=150)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    # A changed address waits here until the link sent to it is followed.
    # Never searched (the address is checked against `email` when the link is
    # followed), so it has no blind index.
    pending_email = EncryptedTextField(max_length=254, blank=True, form_class=forms.EmailField)
    age_confirmed_at = models.DateTimeField(null=True, blank=True)
    privacy_policy_version = models.CharField(max_length=20, blank=True)
    privacy_policy_accepted_at = models.DateTimeField(null=True, blank=True)
    # Set when the user deleted their account (privacy/deletion.py): log-in is refused
    # from then on and the purge removes the row ACCOUNT_DELETION_GRACE_DAYS later.
    deletion_requested_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    def __str__(self) -> str:
        return self.email

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.name.split(" ")[0] if self.name else self.email


class Team(models.Model):
    """The tenant: every piece of seller data belongs to exactly one team."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = EncryptedTextField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)
    # The owner's choice: every member must log in with a second factor
    # (accounts/mfa.py; members without one are sent to set it up).
    mfa_required = models.BooleanField(default=False)
    # Set when its last member deleted their account: everything of the team is
    # purged ACCOUNT_DELETION_GRACE_DAYS later (privacy/deletion.py).
    deletion_requested_at = models.DateTimeField(null=True, blank=True, db_index=True)

    def __str__(self) -> str:
        return self.name

    def owner(self) -> "User | None":
        member = self.memberships.filter(role=Membership.Role.OWNER).select_related("user").first()
        return member.user if member else None


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MEMBER = "member", "Member"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # One team per user keeps every query's tenant unambiguous.
    user = models.OneToOneField(settings.AUTH_USER_MODEL, models.CASCADE, related_name="membership")
    team = models.ForeignKey(Team, models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) on {self.team}"

    @property
    def is_owner(self) -> bool:
        return self.role == self.Role.OWNER


class Invitation(IndexedSaveMixin, models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, models.CASCADE, related_name="invitations")
    email = EncryptedTextField(max_length=254, form_class=forms.EmailField)
    # Same purpose as User.email_index: an invitation is found by the invitee's address.
    email_index = BlindIndexField(source="email", purpose="email")
    role = models.CharField(
        max_length=10, choices=Membership.Role.choices, default=Membership.Role.MEMBER
    )
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True)
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team", "email_index"],
                condition=models.Q(accepted_at__isnull=True),
                name="one_open_invitation_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"invitation of {self.email} to {self.team}"

    def is_expired(self) -> bool:
        age = (timezone.now() - self.created_at).total_seconds()
        return age > settings.INVITATION_MAX_AGE


class UserSession(models.Model):
    """A logged-in session, so that a user's sessions can be listed and ended
    without decoding every session in the database."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="sessions")
    session_key = models.CharField(max_length=40, unique=True)
    # Normalised (ip_normalise) by the code that sets it, as GenericIPAddressField did.
    ip = EncryptedTextField(max_length=39, null=True, blank=True)
    user_agent = EncryptedTextField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"session of {self.user} from {self.ip}"


class RecoveryCode(models.Model):
    """One of a user's single-use codes for logging in without the authenticator app.

    Only a digest is kept: the codes are shown once, when made (accounts/mfa.py).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="recovery_codes"
    )
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "digest"], name="one_recovery_code_digest")
        ]

    def __str__(self) -> str:
        return f"recovery code of {self.user}"


class AuthenticatorDevice(TimestampMixin, ThrottlingMixin, Device):
    """A TOTP authenticator app: django-otp's TOTPDevice with its seed encrypted.

    django-otp's own model keeps the seed (`key`, hex) in plaintext, and a copy of the
    database would let anyone make a user's codes. This one keeps the same columns
    and behaviour (its methods are TOTPDevice's), with `key` and `name` encrypted
    under the personal-data key (lib/fields.py) and a `code` for the associated data.
    """

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = EncryptedTextField(max_length=64)  # Device's, a label a user may write
    key = EncryptedTextField(max_length=80, default=default_key)
    step = models.PositiveSmallIntegerField(default=30)
    t0 = models.BigIntegerField(default=0)
    digits = models.PositiveSmallIntegerField(choices=[(6, 6), (8, 8)], default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    last_t = models.BigIntegerField(default=-1)

    class Meta(Device.Meta):
        verbose_name = "authenticator app"

    bin_key = TOTPDevice.bin_key
    verify_token = TOTPDevice.verify_token
    get_throttle_factor = TOTPDevice.get_throttle_factor
    config_url = TOTPDevice.config_url
    _read_str_from_settings = TOTPDevice._read_str_from_settings
