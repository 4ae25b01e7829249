"""Presentation helpers of the product page (no rules: formatting only)."""

from decimal import ROUND_HALF_UP, Decimal
from html import escape

from django import template
from django.utils.safestring import mark_safe

register = template.Library()

CENT = Decimal("0.01")


def _pct(value: float | None) -> str:
    """As the floatformat:2 filter shows it, plus "%" ("—" for None): the float's shortest
    repr rounded half up, without the filter's per-call machinery."""
    if value is None:
        return "—"
    return f"{Decimal(repr(value)).quantize(CENT, ROUND_HALF_UP)}%"


@register.simple_tag
def series_table_rows(series):
    """The <tr>s of the chart's table alternative (dashboard/product.py SeriesDay).

    Two years are 730 rows: a template loop over them cost more than the page's data.
    Every value is escaped here before it is joined."""
    out = []
    for d in series:
        sessions = "—" if d.sessions is None else d.sessions
        out.append(
            f'<tr><th scope="row">{d.day.isoformat()}</th><td>{escape(str(sessions))}</td>'
            f"<td>{escape(str(d.units))}</td><td>{escape(str(d.revenue))}</td>"
            f"<td>{_pct(d.conversion_pct)}</td><td>{'pending' if d.pending else ''}</td></tr>"
        )
    return mark_safe("".join(out))  # noqa: S308 - built from escaped values above
