"""CSV downloads streamed row by row, so an export of many calls never sits in memory."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from itertools import chain

from flask import Response, stream_with_context


def csv_download(
    filename: str, header: Sequence[str], rows: Callable[[], Iterator[Sequence[str]]]
) -> Response:
    """A CSV attachment: the header (even when there are no rows), then each of `rows()`."""

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for row in chain([header], rows()):
            writer.writerow(row)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()

    headers = {"Content-Disposition": f"attachment; filename={filename}"}
    return Response(stream_with_context(lines()), mimetype="text/csv", headers=headers)
