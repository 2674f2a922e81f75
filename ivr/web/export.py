"""CSV downloads streamed row by row, every matching row, so an export of many calls never
sits in memory and never stops at a limit.

Columns headed with a caller's number (`NUMBER_COLUMNS`) go through `shown_number`, so an
export never shows more of a number than the page does. A cell a spreadsheet would take for
a formula (it starts with = + - @, a tab or a carriage return: what a caller said can) gets
a leading apostrophe, so it opens as text (OWASP's advice on CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from itertools import chain

from flask import Response, stream_with_context

from ivr.web.numbers import shown_number

NUMBER_COLUMNS = frozenset({"caller", "to", "sender"})
STREAMED = {"yield_per": 1000}
"""Execution options of an export's query: rows fetched a thousand at a time."""
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def as_text(cell: str) -> str:
    """`cell` as a spreadsheet shows it: never run as a formula."""
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell


def csv_download(
    filename: str, header: Sequence[str], rows: Callable[[], Iterator[Sequence[str]]]
) -> Response:
    """A CSV attachment: the header (even when there are no rows), then each of `rows()`."""
    numbers = [index for index, name in enumerate(header) if name in NUMBER_COLUMNS]

    def shown(row: Sequence[str]) -> list[str]:
        cells = list(row)
        for index in numbers:
            cells[index] = shown_number(cells[index])
        return [as_text(str(cell)) for cell in cells]

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for row in chain([header], map(shown, rows())):
            writer.writerow(row)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()

    headers = {"Content-Disposition": f"attachment; filename={filename}"}
    return Response(stream_with_context(lines()), mimetype="text/csv", headers=headers)
