"""Categories to departments, deadlines and transfer targets of the demo city."""

from __future__ import annotations

import pytest

from routing.departments import deadline_days, department_for_category, transfer_target


@pytest.mark.parametrize(
    ("category", "department", "days"),
    [
        ("pothole", "roads", 10),
        ("street_light", "lighting", 5),
        ("waste", "sanitation", 3),
        ("abandoned_car", "local_police", 15),
        ("noise", "local_police", 7),
    ],
)
def test_category_routing(demo_flow, category, department, days):
    assert department_for_category(demo_flow, category) == department
    assert deadline_days(demo_flow, category) == days


def test_transfer_targets(demo_flow):
    assert transfer_target(demo_flow, "urbanism") == "+40264000110"
    assert transfer_target(demo_flow, "roads") == "sip:drumuri@pbx.primaria-demo.ro"


def test_department_without_transfer(make_flow):
    flow = make_flow({"office": {}})
    assert transfer_target(flow, "office") is None


def test_unknown_names_raise(demo_flow):
    with pytest.raises(KeyError, match="unknown category 'graffiti'"):
        department_for_category(demo_flow, "graffiti")
    with pytest.raises(KeyError, match="unknown category 'graffiti'"):
        deadline_days(demo_flow, "graffiti")
    with pytest.raises(KeyError, match="unknown department 'parks'"):
        transfer_target(demo_flow, "parks")
