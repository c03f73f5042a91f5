"""Exports written by a job: rows streamed from the database into a CSV or XLSX file kept in
chunks, so that a million rows never sit in memory whole.

CSV goes through `office.exports` (no cell a spreadsheet computes). XLSX is XlsxWriter in
`constant_memory` mode, which writes each row to a temporary file as it goes; text is written
as text, never as a formula or a link, whatever it starts with. A sheet holds at most
1,048,575 rows below its header; the rest go on to a next sheet.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from office import exports
from office.jobs.runner import JobContext, TextFile

FORMATS = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
XLSX_ROWS = 1_048_576  # rows of a sheet, its header included
READ_BLOCK = 1024 * 1024
# Reports and stop checks at most every this many rows (each is one short statement).
REPORT_EVERY = 2000


def _cell(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


class _Csv:
    def __init__(self, context: JobContext, name: str, columns: Sequence[str]) -> None:
        self.file = context.open_file(name, FORMATS["csv"])
        text = TextFile(self.file)
        text.write("\ufeff")  # so spreadsheet programs read the Korean text as UTF-8
        self.writer = exports.writer(text)
        self.writer.writerow(columns)

    def row(self, values: Sequence[Any]) -> None:
        self.writer.writerow([_cell(value) for value in values])

    def close(self) -> None:
        pass


class _Xlsx:
    def __init__(self, context: JobContext, name: str, columns: Sequence[str], sheet: str) -> None:
        import xlsxwriter

        self.context, self.name, self.columns, self.sheet = context, name, columns, sheet
        handle, self.path = tempfile.mkstemp(suffix=".xlsx", prefix="office-export-")
        os.close(handle)
        self.book = xlsxwriter.Workbook(
            self.path,
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "tmpdir": tempfile.gettempdir(),
            },
        )
        self.sheets = 0
        self._new_sheet()

    def _new_sheet(self) -> None:
        self.sheets += 1
        title = self.sheet if self.sheets == 1 else f"{self.sheet} ({self.sheets})"
        self.page = self.book.add_worksheet(title[:31])
        self.page.write_row(0, 0, list(self.columns))
        self.at = 1

    def row(self, values: Sequence[Any]) -> None:
        if self.at >= XLSX_ROWS:
            self._new_sheet()
        for column, value in enumerate(values):
            if value is None or value == "":
                continue
            if isinstance(value, bool):
                self.page.write_boolean(self.at, column, value)
            elif isinstance(value, int | float | Decimal):
                # A spreadsheet's numbers are doubles: exact to 15 digits, past any quantity
                # the office records.
                self.page.write_number(self.at, column, float(value))
            else:
                self.page.write_string(self.at, column, str(_cell(value)))
        self.at += 1

    def close(self) -> None:
        try:
            self.book.close()
            file = self.context.open_file(self.name, FORMATS["xlsx"])
            with open(self.path, "rb") as made:
                while block := made.read(READ_BLOCK):
                    file.write(block)
        finally:
            os.unlink(self.path)

    def discard(self) -> None:
        if os.path.exists(self.path):
            self.book.close()
            os.unlink(self.path)


def export_rows(
    context: JobContext,
    *,
    name: str,
    fmt: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    total: int | None,
    sheet: str,
) -> int:
    """Write `rows` under `columns` to the job's file `name` in `fmt` (csv or xlsx),
    reporting progress against `total` (when known) and stopping when asked; finish the job.
    Return the number of rows written."""
    table: _Csv | _Xlsx = (
        _Csv(context, f"{name}.csv", columns)
        if fmt == "csv"
        else _Xlsx(context, f"{name}.xlsx", columns, sheet)
    )
    written = 0
    try:
        context.progress(stage="writing", percent=0, detail={"rows": 0, "total": total}, force=True)
        for values in rows:
            table.row(values)
            written += 1
            if written % REPORT_EVERY == 0:
                percent = min(99, written * 100 // total) if total else None
                context.progress(
                    stage="writing", percent=percent, detail={"rows": written, "total": total}
                )
        table.close()
    except BaseException:
        if isinstance(table, _Xlsx):
            table.discard()
        raise
    context.progress(stage="saving", detail={"rows": written, "total": total}, force=True)
    context.finish_file()
    return written
