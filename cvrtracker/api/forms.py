"""The API's query parameters and the key form of the settings page.

Every parameter is checked before anything is read, so a mistake gets a 400
that names it instead of a silently different answer.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from django import forms

from cvrtracker.amazon.identifiers import ASIN
from cvrtracker.amazon.marketplaces import marketplace_today
from cvrtracker.lib import clock
from cvrtracker.listings.forms import ChangeFiltersForm
from cvrtracker.metrics.selectors import SORT_FIELDS

# Two years, as far back as Amazon keeps Sales & Traffic and the Pro plan shows.
MAX_RANGE_DAYS = 730
DEFAULT_RANGE_DAYS = 30
DEFAULT_LIMIT, MAX_LIMIT = 100, 10_000
# Exactly the fields the selector sorts by: a field accepted here and unknown
# there would answer 500 instead of 400.
ORDER_CHOICES = [(f"{sign}{field}", "") for field in SORT_FIELDS for sign in ("", "-")]
MARKETPLACE = re.compile(r"^[A-Z0-9]{1,32}$")


def _date_field(name: str, help_text: str) -> forms.DateField:
    return forms.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": f"{name} must be a date written YYYY-MM-DD."},
        help_text=help_text,
    )


class WindowForm(forms.Form):
    """`marketplace`, `start` and `end` (inclusive). Defaults: the connection's only
    marketplace, and the 30 days up to the marketplace's last whole day (its
    yesterday: today has no traffic yet)."""

    # What the clean_ methods require, for the OpenAPI document (openapi.py).
    parameter_patterns = {"marketplace": MARKETPLACE.pattern}

    marketplace = forms.CharField(
        required=False,
        max_length=32,
        help_text="Amazon's marketplace id; optional when the seller account has one.",
    )
    start = _date_field(
        "start",
        f"The first day, inclusive. Default: {DEFAULT_RANGE_DAYS - 1} days before `end`; "
        "moved up to the first day the plan shows.",
    )
    end = _date_field(
        "end",
        "The last day, inclusive. Default: the marketplace's yesterday, its last whole day. "
        f"At most {MAX_RANGE_DAYS} days from `start`.",
    )

    def __init__(self, data, *, marketplaces: list[str]):
        super().__init__(data)
        self.marketplaces = marketplaces

    def clean_marketplace(self) -> str:
        value = self.cleaned_data["marketplace"].strip()
        if not value:
            if len(self.marketplaces) == 1:
                return self.marketplaces[0]
            known = ", ".join(self.marketplaces) or "none synced yet"
            raise forms.ValidationError(
                f"marketplace is required: one of this seller account's marketplaces ({known})."
            )
        if not MARKETPLACE.match(value) or value not in self.marketplaces:
            known = ", ".join(self.marketplaces) or "none synced yet"
            raise forms.ValidationError(
                f"marketplace {value[:32]!r} is not one of this seller account's "
                f"marketplaces ({known})."
            )
        return value

    def clean(self):
        cleaned = super().clean()
        if "start" not in cleaned or "end" not in cleaned:
            return cleaned  # a malformed date already has its error
        end: date = cleaned["end"] or self._last_whole_day(cleaned.get("marketplace"))
        # No arithmetic that can leave the calendar: end=0001-01-01 is a valid (empty) range.
        start: date = cleaned["start"] or (
            end - timedelta(days=DEFAULT_RANGE_DAYS - 1)
            if end - date.min >= timedelta(days=DEFAULT_RANGE_DAYS - 1)
            else date.min
        )
        if start > end:
            raise forms.ValidationError("start must be on or before end.")
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            raise forms.ValidationError(
                f"The range from start to end may cover at most {MAX_RANGE_DAYS} days."
            )
        cleaned["start"], cleaned["end"] = start, end
        return cleaned

    @staticmethod
    def _last_whole_day(marketplace_id: str | None) -> date:
        today = marketplace_today(marketplace_id) if marketplace_id else clock.today()
        return today - timedelta(days=1)


class ProductTableForm(WindowForm):
    order_by = forms.ChoiceField(
        required=False,
        choices=ORDER_CHOICES,
        help_text="The sort: a field, '-' first for descending. Default: -units_ordered.",
        error_messages={
            "invalid_choice": (
                "order_by must be one of "
                + ", ".join(SORT_FIELDS)
                + ", optionally with a leading '-' for descending order."
            )
        },
    )
    limit = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_LIMIT,
        help_text=f"How many products at most. Default: {DEFAULT_LIMIT}.",
        error_messages={
            "invalid": f"limit must be a whole number from 1 to {MAX_LIMIT}.",
            "min_value": f"limit must be a whole number from 1 to {MAX_LIMIT}.",
            "max_value": f"limit must be a whole number from 1 to {MAX_LIMIT}.",
        },
    )

    def clean_order_by(self) -> str:
        return self.cleaned_data["order_by"] or "-units_ordered"

    def clean_limit(self) -> int:
        limit = self.cleaned_data["limit"]
        return DEFAULT_LIMIT if limit is None else limit


CHANGES_DEFAULT_LIMIT, CHANGES_MAX_LIMIT = 100, 500


class ChangesForm(ChangeFiltersForm):
    """The change history's filters and cursor (listings/forms.py), and a page size."""

    parameter_patterns = {"asin": ASIN.pattern}
    # The OpenAPI document's descriptions of the fields listings/forms.py defines.
    parameter_help = {
        "asin": "Only this ASIN's changes.",
        "field": "Only changes of this field.",
        "source": "observed (seen between two syncs), inferred (a past price estimated "
        "from sales ÷ units) or derived (Buy Box and stock-out events from daily metrics).",
        "start": "The first day, inclusive (no default: the whole history the plan shows).",
        "end": "The last day, inclusive.",
        "cursor": "The `next` value of the previous page, with the same filters.",
    }

    limit = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=CHANGES_MAX_LIMIT,
        help_text=f"Changes per page. Default: {CHANGES_DEFAULT_LIMIT}.",
        error_messages={
            key: f"limit must be a whole number from 1 to {CHANGES_MAX_LIMIT}."
            for key in ("invalid", "min_value", "max_value")
        },
    )

    def clean_limit(self) -> int:
        limit = self.cleaned_data["limit"]
        return CHANGES_DEFAULT_LIMIT if limit is None else limit


def clean_asin(value: str) -> str | None:
    """The ASIN if well-formed (ten capital letters or digits), else None."""
    return value if ASIN.match(value) else None


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="What will use the key, e.g. “Finance spreadsheet”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
