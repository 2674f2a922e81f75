"""GeoReport's two formats: one document (a dict, or a list of dicts) rendered as the spec's
XML or as JSON. Pure: no Flask, no database.

The XML names a list's elements by the singular of its parent (`<attributes><attribute>`),
writes None as an empty element and booleans as `true`/`false`, as the spec's examples do."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

FORMATS = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
SINGULAR = {
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "services": "service",
    "service_requests": "request",
    "errors": "error",
}


def render(root: str, document: dict[str, Any] | list[dict[str, Any]], fmt: str) -> str:
    """`document` as `fmt` ("xml" or "json"); `root` names the XML's root element (a list
    is rendered as its items under it)."""
    if fmt == "json":
        return json.dumps(document, ensure_ascii=False)
    element = ET.Element(root)
    _fill(element, document)
    body = ET.tostring(element, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}'


def errors(problems: list[tuple[int, str]], fmt: str) -> str:
    """The spec's error document: each problem's code and description."""
    rows = [{"code": code, "description": text} for code, text in problems]
    return render("errors", rows, fmt)


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for name, child in value.items():
            _fill(ET.SubElement(element, name), child)
    elif isinstance(value, list):
        name = SINGULAR.get(element.tag, "item")
        for item in value:
            _fill(ET.SubElement(element, name), item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)
