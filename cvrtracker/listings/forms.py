"""The change history's filters, shared by the pages and the API: every value is
checked before anything is read, so a mistake is a 400 that names it."""

from __future__ import annotations

from django import forms

from cvrtracker.amazon.identifiers import ASIN
from cvrtracker.amazon.models import SellerConnection

from .models import Listing, ListingChange
from .selectors import ChangeFilters, ChangePosition, InvalidCursor, changes_cursor_decode

FIELD_NAMES = ", ".join(ListingChange.Field.values)
SOURCE_NAMES = ", ".join(ListingChange.Source.values)


def _date_field(name: str) -> forms.DateField:
    return forms.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": f"{name} must be a date written YYYY-MM-DD."},
    )


class ChangeFiltersForm(forms.Form):
    """`asin`, `field`, `source`, `start` and `end` (inclusive days, no default: the
    whole history) and `cursor` (the `next` value of the previous page)."""

    asin = forms.CharField(required=False, max_length=16, strip=True)
    field = forms.ChoiceField(
        required=False,
        choices=[("", "Any field"), *ListingChange.Field.choices],
        error_messages={"invalid_choice": f"field must be one of {FIELD_NAMES}."},
    )
    source = forms.ChoiceField(
        required=False,
        choices=[("", "Any source"), *ListingChange.Source.choices],
        error_messages={"invalid_choice": f"source must be one of {SOURCE_NAMES}."},
    )
    start = _date_field("start")
    end = _date_field("end")
    cursor = forms.CharField(required=False, strip=True)

    def __init__(self, data, *, connection: SellerConnection):
        super().__init__(data)
        self.connection = connection

    def clean_asin(self) -> str:
        value = self.cleaned_data["asin"]
        if value and not ASIN.match(value):
            raise forms.ValidationError("asin must be ten capital letters or digits.")
        return value

    def clean_cursor(self) -> ChangePosition | None:
        value = self.cleaned_data["cursor"]
        if not value:
            return None
        try:
            return changes_cursor_decode(connection=self.connection, cursor=value)
        except InvalidCursor as invalid:
            raise forms.ValidationError(str(invalid)) from None

    def clean(self):
        cleaned = super().clean()
        # Compared only, never shifted by a number of days: a year-1 or year-9999
        # date stays a valid (if empty) range instead of an overflow.
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            raise forms.ValidationError("start must be on or before end.")
        return cleaned

    def filters(self, *, product: Listing | None = None, earliest=None) -> ChangeFilters:
        """The cleaned filters; `earliest` (the plan's first shown day) moves `start` up."""
        data = self.cleaned_data
        start = data["start"]
        if earliest is not None and (start is None or start < earliest):
            start = earliest
        return ChangeFilters(
            product=product,
            asin=data["asin"],
            field=data["field"],
            source=data["source"],
            start=start,
            end=data["end"],
        )

    def error_text(self) -> str:
        return " ".join(e["message"] for errs in self.errors.get_json_data().values() for e in errs)
