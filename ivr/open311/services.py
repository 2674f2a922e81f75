"""GeoReport services from the flow: each category is a service, named in the language the
client asks for (`locale`), grouped under its department; its definition lists the
attributes a POST may carry. Pure: reads a Flow, returns documents."""

from __future__ import annotations

from typing import Any

from menus.schema import Flow

PUBLISH = "publish_description"


class UnknownLocale(ValueError):
    """A `locale` the flow does not speak."""


def language(flow: Flow, locale: str | None) -> str:
    """The flow language `locale` names (`ro`, `ro_RO`, `ro-RO`); the default without one."""
    if not locale:
        return flow.default_language
    code = locale.replace("-", "_").split("_")[0].lower()
    if code not in flow.languages:
        spoken = ", ".join(flow.languages)
        raise UnknownLocale(f"locale {locale!r} is not served; use one of: {spoken}")
    return code


def service_list(flow: Flow, lang: str) -> list[dict[str, Any]]:
    """Every category as a GeoReport service, in the flow's order."""
    return [_service(flow, code, lang) for code in flow.categories]


def _service(flow: Flow, code: str, lang: str) -> dict[str, Any]:
    category = flow.categories[code]
    department = department_name(flow, category.department, lang)
    return {
        "service_code": code,
        "service_name": _text(category.name, flow, lang),
        "description": department,
        "metadata": True,
        "type": "realtime",
        "keywords": "",
        "group": department,
    }


def definition(flow: Flow, code: str) -> dict[str, Any]:
    """The attributes a report of service `code` may carry (KeyError for an unknown code)."""
    if code not in flow.categories:
        raise KeyError(code)
    districts = [{"key": str(n), "name": str(n)} for n in range(1, flow.districts + 1)]
    return {
        "service_code": code,
        "attributes": [
            _attribute(1, "district", "singlevaluelist", "The city district (1 to "
                       f"{flow.districts}).", values=districts),
            _attribute(2, "description", "text", "What is wrong, in the citizen's words "
                       "(the same as the request's description field)."),
            _attribute(3, PUBLISH, "singlevaluelist", "May the description be shown to "
                       "anyone reading the requests? Without true it is kept private.",
                       values=[{"key": "true", "name": "yes"}, {"key": "false", "name": "no"}]),
        ],
    }  # fmt: skip


def _attribute(
    order: int, code: str, datatype: str, description: str, values: list[Any] | None = None
) -> dict[str, Any]:
    attribute: dict[str, Any] = {
        "variable": True,
        "code": code,
        "datatype": datatype,
        "required": False,
        "datatype_description": "",
        "order": order,
        "description": description,
    }
    if values is not None:
        attribute["values"] = values
    return attribute


def department_name(flow: Flow, code: str | None, lang: str) -> str | None:
    department = flow.departments.get(code or "")
    return _text(department.name, flow, lang) if department else code


def _text(texts: dict[str, str], flow: Flow, lang: str) -> str:
    return texts.get(lang) or texts.get(flow.default_language) or next(iter(texts.values()))
