"""The dashboard page: every chart and figure scoped to the officer's departments; counts
as integers in a plain table under each chart."""

from __future__ import annotations

import re


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
    assert "survey" not in roads  # survey answers carry no department


def test_a_year_shows_a_bar_a_week_with_whole_number_ticks(supervisor):
    page = _page(supervisor, "/?days=365")
    assert "Calls per week" in page
    body = page.split('id="calls-per-day-table"', 1)[1].split("</table>", 1)[0]
    assert body.count('<th scope="row">') == 53
    ticks = re.findall(r'<text class="tick"[^>]*>([^<]*)</text>', page)
    assert ticks and all(re.fullmatch(r"[\d,]+", tick) for tick in ticks if "%" not in tick)
