"""The CSV and XLSX download helper, and what a web process loads to serve it."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from cvrtracker.dashboard.exports import export_response

HEADER = ["ASIN", "Title", "Sessions", "Revenue", "Conversion (%)", "Day"]
ROWS = [
    ["B000000001", '=HYPERLINK("http://x")', 120, Decimal("24.99"), 9.17, "2026-11-01"],
    ["B000000002", "@SUM(A1)", 0, Decimal("0"), None, "2026-11-02"],
    ["B000000003", "http://example.com", 7, Decimal("1234.50"), 0.5, "0042"],
]


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def xlsx(response):
    return load_workbook(io.BytesIO(body(response)), read_only=False).active


def test_the_xlsx_holds_the_header_and_rows_in_order_with_numbers_as_numbers():
    response = export_response(fmt="xlsx", filename="products x", header=HEADER, rows=iter(ROWS))
    assert response["Content-Disposition"] == 'attachment; filename="products-x.xlsx"'
    assert response["Cache-Control"] == "no-store"
    sheet = xlsx(response)
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0] == HEADER
    assert values[1][0] == "B000000001" and values[1][2] == 120
    assert values[1][3] == pytest.approx(24.99) and values[3][3] == pytest.approx(1234.5)
    assert values[2][4] is None  # an empty cell, not "None"
    assert len(values) == 4


def test_xlsx_text_never_becomes_a_formula_a_link_or_a_number():
    sheet = xlsx(export_response(fmt="xlsx", filename="t", header=HEADER, rows=ROWS))
    assert sheet["B2"].value == '\'=HYPERLINK("http://x")' and sheet["B2"].data_type == "s"
    assert sheet["B3"].value == "'@SUM(A1)"
    assert sheet["B4"].value == "http://example.com" and sheet["B4"].hyperlink is None
    assert sheet["F4"].value == "0042" and sheet["F4"].data_type == "s"


def test_a_date_reads_back_as_that_day():
    rows = [["B000000001", "t", 1, Decimal(1), 1.0, date(2026, 11, 3)]]
    sheet = xlsx(export_response(fmt="xlsx", filename="d", header=HEADER, rows=rows))
    assert sheet["F2"].value.date() == date(2026, 11, 3)
    assert sheet["F2"].number_format == "yyyy-mm-dd"


def test_a_large_xlsx_keeps_every_row():
    rows = ([f"B{i:09d}", f"title {i}", i, Decimal(i) / 100, i / 7, ""] for i in range(5000))
    sheet = load_workbook(
        io.BytesIO(body(export_response(fmt="xlsx", filename="big", header=HEADER, rows=rows))),
        read_only=True,
    ).active
    values = list(sheet.iter_rows(values_only=True))
    assert len(values) == 5001
    assert values[-1][:3] == ("B000004999", "title 4999", 4999)


def test_an_xlsx_without_rows_holds_the_header():
    sheet = xlsx(export_response(fmt="xlsx", filename="e", header=HEADER, rows=iter(())))
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [HEADER]


def test_the_xlsx_reads_the_first_row_before_it_loads_the_writer():
    """The product table reads all its data when its first row is asked for: that peak
    must not have XlsxWriter's workbook beside it (bench/export_memory.py)."""
    seen = []

    def rows():
        seen.append(sys.modules.get("xlsxwriter") is not None and "workbook open")
        yield from ROWS

    sys.modules.pop("xlsxwriter", None)
    for name in [m for m in sys.modules if m.startswith("xlsxwriter.")]:
        sys.modules.pop(name)
    sheet = xlsx(export_response(fmt="xlsx", filename="f", header=HEADER, rows=rows()))
    assert seen == [False]
    assert len(list(sheet.iter_rows(values_only=True))) == 4


def test_the_csv_streams_the_same_cells():
    response = export_response(fmt="csv", filename="p", header=HEADER, rows=iter(ROWS))
    assert response.streaming
    rows = list(csv.reader(io.StringIO(body(response).decode("utf-8-sig"))))
    assert rows[0] == HEADER
    assert rows[1][1] == '\'=HYPERLINK("http://x")' and rows[1][3] == "24.99"
    assert rows[2][4] == ""


def test_another_format_is_refused():
    with pytest.raises(ValueError, match="unknown export format"):
        export_response(fmt="ods", filename="p", header=HEADER, rows=[])


# What loading the site's URLs imports, read in a fresh interpreter: the modules a web
# process holds before its first download. Each of these cost it megabytes and serves
# no page (bench/export_memory.py measured them).
NOT_AT_STARTUP = {
    "httpx": "the SP-API client (~7 MB with tenacity and the rate limiter)",
    "openpyxl": "an XLSX reader the product does not use",
    "scipy": "the impact interval's statistics (~50 MB)",
}


def test_loading_the_urls_does_not_import_the_sp_api_client_openpyxl_or_scipy():
    script = (
        "import django, json, sys; django.setup();"
        "from django.urls import get_resolver; get_resolver().url_patterns;"
        f"print(json.dumps(sorted(n for n in {sorted(NOT_AT_STARTUP)!r} if n in sys.modules)))"
    )
    root = Path(__file__).resolve().parents[3]
    found = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", script],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "cvrtracker.settings"},
    )
    loaded = json.loads(found.stdout.strip().splitlines()[-1])
    assert loaded == [], {name: NOT_AT_STARTUP[name] for name in loaded}
