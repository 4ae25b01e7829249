"""Forms of the privacy app's pages."""

from django import forms


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
