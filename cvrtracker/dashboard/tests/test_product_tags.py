"""series_table_rows: the product page's day table, as the template loop it replaced."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.template import Context, Template

from cvrtracker.dashboard.product import SeriesDay
from cvrtracker.dashboard.templatetags.product_tags import series_table_rows

# The loop the page used before (templates/dashboard/product.html), the reference.
LOOP = Template(
    "{% for d in series %}"
    '<tr><th scope="row">{{ d.day|date:"Y-m-d" }}</th>'
    '<td>{{ d.sessions|default_if_none:"—" }}</td><td>{{ d.units }}</td>'
    "<td>{{ d.revenue }}</td><td>{% if d.conversion_pct is None %}—{% else %}"
    "{{ d.conversion_pct|floatformat:2 }}%{% endif %}</td>"
    "<td>{% if d.pending %}pending{% endif %}</td></tr>"
    "{% endfor %}"
)


def day(i: int, sessions, units: int, revenue: Decimal, conversion, pending=False) -> SeriesDay:
    return SeriesDay(
        day=date(2026, 1, 30) + timedelta(days=i),
        sessions=sessions,
        page_views=None if sessions is None else 2 * sessions,
        units=units,
        revenue=revenue,
        conversion=conversion,
        buy_box=None if pending else 99.5,
        pending=pending,
    )


def test_it_renders_what_the_template_loop_rendered():
    series = [
        day(0, 100, 7, Decimal(17493).scaleb(-2), 0.07),
        day(1, 0, 0, Decimal(0).scaleb(-2), None),
        day(2, 3, 1, Decimal(1000), 1 / 3),  # a zero-decimal currency
        day(3, 400, 107, Decimal("2675.00"), 0.02675),  # half-way: rounds up like floatformat
        day(4, 1234567, 1, Decimal("0.99"), 1 / 1234567),
        day(5, None, 4, Decimal("99.96"), None, pending=True),
    ]
    expected = LOOP.render(Context({"series": series}))
    assert str(series_table_rows(series)) == expected
    assert "<td>2.68%</td>" in expected and "<td>—</td>" in expected


def test_it_is_empty_without_days():
    assert series_table_rows([]) == ""
