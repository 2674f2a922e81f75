"""Departments and report categories of a flow: who handles what, how fast, and where to transfer.

Lookups of a name the flow does not define raise `KeyError`: the flow's validator rejects
such names before a flow is loaded, so reaching one here is a bug, not a caller's mistake.
"""

from __future__ import annotations

from menus.schema import Category, Department, Flow


def department(flow: Flow, name: str) -> Department:
    """The department called `name`."""
    try:
        return flow.departments[name]
    except KeyError:
        raise KeyError(f"unknown department {name!r}") from None


def _category(flow: Flow, name: str) -> Category:
    try:
        return flow.categories[name]
    except KeyError:
        raise KeyError(f"unknown category {name!r}") from None


def department_for_category(flow: Flow, category: str) -> str:
    """The name of the department that handles reports of `category`."""
    return _category(flow, category).department


def deadline_days(flow: Flow, category: str) -> int:
    """Days the city hall has to resolve a report of `category`."""
    return _category(flow, category).deadline_days


def transfer_target(flow: Flow, name: str) -> str | None:
    """The E.164 number or SIP URI a call to department `name` goes to; None when it has none."""
    return department(flow, name).transfer
