"""The dashboard page: every chart and figure scoped to the officer's departments; counts
as integers in a plain table under each chart."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from ivr.storage.surveys import record_survey


def _page(client, path="/?days=7"):
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _column_sums(page: str, table: str) -> list[int]:
    """The sums of each column of the table `table` under a chart."""
    body = page.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><th scope=\"row\">.*?</th>(.*?)</tr>", body)
    cells = [
        [int(c.replace(",", "")) for c in re.findall(r'<td class="num">([\d,]+)</td>', r)]
        for r in rows
    ]
    return [sum(column) for column in zip(*cells, strict=True)]


def test_an_officer_s_dashboard_counts_only_their_departments(officer, supervisor):
    every, roads = _page(supervisor), _page(officer)
    assert _column_sums(every, "tickets-table") == [2, 0]  # opened, closed
    assert _column_sums(roads, "tickets-table") == [1, 0]
    assert _column_sums(every, "calls-per-day-table") == [2, 0, 0]
    assert _column_sums(roads, "calls-per-day-table") == [1, 0, 0]
    assert _column_sums(roads, "calls-by-hour-table") == [1]
    assert 'id="handled">1<' in roads and 'id="handled">2<' in every


def test_an_officer_s_survey_counts_only_their_departments(site, officer, supervisor):
    with site.app.extensions["civicline"].database.session() as session:
        for call_id, score in ((site.roads_call, 5), (site.taxes_call, 2)):
            record_survey(session, kind="ivr", score=score, language="en",
                          at=datetime.now(UTC), call_id=call_id)  # fmt: skip
    every, roads = _survey(_page(supervisor)), _survey(_page(officer))
    assert 'After IVR calls</th><td class="num">2</td>' in every and "3.50" in every
    assert 'After IVR calls</th><td class="num">1</td>' in roads and "5.00" in roads


def _survey(page: str) -> str:
    return page.split('<table id="survey">', 1)[1].split("</table>", 1)[0]


def test_a_year_shows_a_bar_a_week_with_whole_number_ticks(supervisor):
    page = _page(supervisor, "/?days=365")
    assert "Calls per week" in page
    body = page.split('id="calls-per-day-table"', 1)[1].split("</table>", 1)[0]
    assert body.count('<th scope="row">') == 53
    ticks = re.findall(r'<text class="tick"[^>]*>([^<]*)</text>', page)
    assert ticks and all(re.fullmatch(r"[\d,]+", tick) for tick in ticks if "%" not in tick)
