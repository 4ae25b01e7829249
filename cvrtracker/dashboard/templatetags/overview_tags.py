"""Presentation helpers of the overview page (no rules: formatting only)."""

from html import escape

from django import template
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def day_table_rows(rows):
    """The <tr>s of the chart's table alternative (dashboard/overview.py DayRow).

    Two years are 730 rows of eight cells: a template loop, or format_html per row, cost
    more than the page's whole read. Every value is escaped here before it is joined."""
    out = []
    for row in rows:
        cells = [row.sessions, row.page_views, row.units]
        out.append(
            f"<tr{' class="day-pending"' if row.pending else ''}>"
            f'<th scope="row" class="nowrap">{escape(row.label)}</th>'
            + "".join(f"<td>{escape(value)}</td>" for value in cells)
            + f'<td class="nowrap">{escape(row.revenue)}</td>'
            f"<td>{escape(row.conversion)}</td><td>{escape(row.buy_box)}</td></tr>"
        )
    return mark_safe("".join(out))  # noqa: S308 - built from escaped values above
