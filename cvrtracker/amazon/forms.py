"""Forms of the products page: which products to list, and a tracking change."""

from django import forms

SHOW_CHOICES = [("", "All"), ("tracked", "Tracked"), ("untracked", "Not tracked")]


class ProductsViewForm(forms.Form):
    show = forms.ChoiceField(choices=SHOW_CHOICES, required=False)
    page = forms.IntegerField(min_value=1, required=False)

    def query(self) -> dict[str, str]:
        """The page and filter to send the seller back to, without empty values."""
        data = self.cleaned_data if self.is_valid() else {}
        return {key: str(value) for key, value in data.items() if key in ("show", "page") and value}


class TrackingForm(ProductsViewForm):
    tracked = forms.TypedChoiceField(
        choices=[("1", "Track"), ("0", "Stop tracking")], coerce=lambda value: value == "1"
    )
