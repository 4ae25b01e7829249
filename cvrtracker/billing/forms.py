from django import forms

from cvrtracker.billing.plans import PAID_PLANS


class CheckoutForm(forms.Form):
    plan = forms.ChoiceField(choices=[(p.key, p.name) for p in PAID_PLANS])
    # Rendered with the page: a double submit of one page reuses one idempotency key.
    nonce = forms.RegexField(regex=r"^[0-9a-f]{32}$")
