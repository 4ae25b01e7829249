"""CSV and XLSX downloads that stream with bounded memory.

CSV rows are written to the response as they come. XLSX is a zip: openpyxl's
write-only mode writes rows to a temporary file as they come (it keeps no cell
objects), and the finished file is streamed from disk in chunks. Callers pass
the header and an iterator of rows holding the numbers the page shows.
"""

from __future__ import annotations

import csv
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.http import FileResponse, HttpResponse, StreamingHttpResponse

FORMATS = ("csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> Any:
    # Spreadsheets run a cell starting with = + - @ as a formula (CSV injection):
    # text that starts so is prefixed with an apostrophe. Numbers pass untouched.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # so spreadsheet programs read UTF-8
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([_cell(v) for v in row])


def _safe_name(filename: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", filename).strip("-") or "export"


def export_response(
    *, fmt: str, filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> HttpResponse:
    """A download of `rows` under `header` as `fmt` ("csv" or "xlsx"); `filename`
    without extension. ValueError for another format."""
    name = _safe_name(filename)
    if fmt == "csv":
        response = StreamingHttpResponse(
            _csv_lines(header, rows), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    elif fmt == "xlsx":
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(title=name[:31])
        sheet.append(list(header))
        for row in rows:
            sheet.append([_cell(v) for v in row])
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
        workbook.save(spool)
        spool.seek(0)
        response = FileResponse(
            spool, as_attachment=True, filename=f"{name}.xlsx", content_type=XLSX_TYPE
        )
    else:
        raise ValueError(f"unknown export format {fmt!r}")
    response["Cache-Control"] = "no-store"
    return response
