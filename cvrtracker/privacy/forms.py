"""Forms of the privacy app's pages: account deletion, consent, rights, support, staff."""

from django import forms

from cvrtracker.privacy.consent import CHOICES
from cvrtracker.privacy.models import RightsRequest


class AccountDeleteForm(forms.Form):
    """Re-authentication and the typed address that confirm deleting an account."""

    password = forms.CharField(
        label="Your current password",
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label="A code from your authenticator app",
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
    email = forms.CharField(
        label="Type your email address to confirm",
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, email: str, mfa: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.account_email = email
        if mfa:
            self.fields["code"].required = True
        else:
            del self.fields["code"]

    def clean_email(self) -> str:
        typed = self.cleaned_data["email"].strip().lower()
        if typed != self.account_email.lower():
            raise forms.ValidationError(
                "That is not this account's email address: nothing was deleted."
            )
        return typed


HONEYPOT = "website"


def _one_line(value: str) -> str:
    # Names and subjects go into email headers: a line break there is refused.
    if any(not c.isprintable() for c in value):
        raise forms.ValidationError("Please use one line of ordinary characters.")
    return value


class PublicForm(forms.Form):
    """A public form's honeypot: hidden from people (CSS, aria-hidden, no tab stop);
    a bot that fills every field reveals itself (`is_bot`)."""

    website = forms.CharField(
        required=False,
        label="Leave this field empty",
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def is_bot(self) -> bool:
        return bool(self.cleaned_data.get(HONEYPOT))

    def clean_name(self) -> str:
        return _one_line(self.cleaned_data["name"])


class RightsRequestForm(PublicForm):
    name = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    kind = forms.ChoiceField(
        choices=RightsRequest.Kind.choices, widget=forms.RadioSelect, label="Your request"
    )
    california_resident = forms.BooleanField(required=False, label="I am a California resident.")
    details = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Optional: what to correct, or anything that helps us find your information.",
    )
    field_order = ["name", "email", "kind", "california_resident", "details", HONEYPOT]


class SupportRequestForm(PublicForm):
    name = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    subject = forms.CharField(max_length=200)
    message = forms.CharField(max_length=10000, widget=forms.Textarea(attrs={"rows": 8}))
    field_order = ["name", "email", "subject", "message", HONEYPOT]

    def clean_subject(self) -> str:
        return _one_line(self.cleaned_data["subject"])


class ConsentForm(forms.Form):
    choice = forms.ChoiceField(choices=[(c, c) for c in CHOICES])
    next = forms.CharField(required=False, max_length=2000)


class AnswerForm(forms.Form):
    answer = forms.CharField(
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Emailed to the requester as written.",
    )
    status = forms.ChoiceField(
        choices=[
            (RightsRequest.Status.ANSWERED, "Answered (they may still reply)"),
            (RightsRequest.Status.CLOSED, "Closed"),
        ],
        initial=RightsRequest.Status.ANSWERED,
    )
