from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm

from cvrtracker.accounts.models import User
from cvrtracker.audit.models import AuditEntry
from cvrtracker.audit.selectors import KINDS, AuditFilter


class SignupForm(forms.Form):
    name = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 12 characters; not a common password or close to your name or email.",
    )
    age_confirmed = forms.BooleanField(
        required=False, label=f"I am {settings.MINIMUM_AGE} years old or older."
    )
    privacy_accepted = forms.BooleanField(
        required=False, label="I have read and accept the privacy policy."
    )

    def __init__(self, *args, invitation_email: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.invitation_email = invitation_email
        if invitation_email:
            self.fields["email"].initial = invitation_email
            self.fields["email"].disabled = True

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def clean_age_confirmed(self) -> bool:
        if not self.cleaned_data.get("age_confirmed"):
            raise forms.ValidationError(
                f"CVR Tracker is only for people aged {settings.MINIMUM_AGE} or older."
            )
        return True

    def clean_privacy_accepted(self) -> bool:
        if not self.cleaned_data.get("privacy_accepted"):
            raise forms.ValidationError("Please read and accept the privacy policy to continue.")
        return True

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("password")
        if password:
            probe = User(email=cleaned.get("email", ""), name=cleaned.get("name", ""))
            try:
                password_validation.validate_password(password, probe)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


class LoginForm(AuthenticationForm):
    """Email and password. The same error whether or not the email has an account."""

    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    error_messages = {
        "invalid_login": "That email and password do not match an account.",
        "inactive": "That email and password do not match an account.",
    }

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()


class ProfileForm(forms.Form):
    name = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if email != self.user.email and User.objects.filter(email=email).exists():
            raise forms.ValidationError("That email belongs to another account.")
        return email


class InviteForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "off"}))


class TeamNameForm(forms.Form):
    name = forms.CharField(max_length=100)


class AccessLogForm(forms.Form):
    """The access log's filters: a kind of entry or one action, a member of the
    team, and a range of days (UTC)."""

    kind = forms.ChoiceField(required=False, label="Show")
    action = forms.ChoiceField(required=False, label="Action")
    member = forms.ChoiceField(required=False, label="Member")
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )
    cursor = forms.CharField(required=False, max_length=300)

    def __init__(self, data, *, members):
        super().__init__(data)
        self.fields["kind"].choices = [("", "Everything"), *KINDS.items()]
        self.fields["action"].choices = [("", "Any action"), *AuditEntry.Action.choices]
        self.members = {str(m.code): m for m in members}
        self.fields["member"].choices = [("", "Everyone")] + [
            (code, f"{m.user.name} ({m.user.email})") for code, m in self.members.items()
        ]

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError("The first day comes after the last.")
        return data

    def actor(self):
        code = self.cleaned_data.get("member")
        return self.members[code].user if code else None

    def audit_filter(self) -> AuditFilter:
        """The filter the valid form describes."""
        data = self.cleaned_data
        return AuditFilter(
            kind=data["kind"],
            action=data["action"],
            actor=self.actor(),
            since=data["since"],
            until=data["until"],
        )

    def query(self) -> dict[str, str]:
        """The filters set, as query parameters for links to other pages and the download."""
        return {
            name: self.data[name]
            for name in ("kind", "action", "member", "since", "until")
            if self.data.get(name)
        }


class MFACodeForm(forms.Form):
    """A code from the authenticator app (or, at log-in, a recovery code)."""

    code = forms.CharField(
        max_length=40,
        label="Code",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )


class TeamMFAForm(forms.Form):
    required = forms.BooleanField(required=False)
