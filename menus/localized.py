"""Every text of a flow that has one version per language, found from the schema itself.

A field is localized when its annotation carries `menus.schema.LOCALIZED` (the `Localized`
alias), wherever it sits: directly on a model, inside `X | None`, or as the values of a
dict (`texts.statuses`). The walk follows `model_fields` and the annotations, so a field
added to the schema later is found without touching this module.
"""

from __future__ import annotations

import types
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from menus.lines import Location
from menus.schema import LOCALIZED


def localized_texts(
    model: BaseModel, location: Location = ()
) -> Iterator[tuple[Location, Mapping[str, str]]]:
    """(location, {language: text}) for every localized field under `model`, in file order."""
    for name, info in type(model).model_fields.items():
        yield from _walk(getattr(model, name), info.rebuild_annotation(), location + (name,))


def _walk(value: Any, annotation: Any, location: Location) -> Iterator[tuple[Location, Any]]:
    if value is None:
        return
    if isinstance(value, BaseModel):
        yield from localized_texts(value, location)
        return
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Annotated:
        if LOCALIZED in args[1:]:
            yield location, value
        else:
            yield from _walk(value, args[0], location)
    elif origin in (Union, types.UnionType):
        fitting = [arg for arg in args if isinstance(value, _runtime_type(arg))]
        if fitting:
            yield from _walk(value, fitting[0], location)
    elif isinstance(value, Mapping) and len(args) == 2:
        for key, item in value.items():
            yield from _walk(item, args[1], location + (key,))
    elif isinstance(value, list | tuple) and args:
        for index, item in enumerate(value):
            yield from _walk(item, args[0], location + (index,))


def _runtime_type(annotation: Any) -> type:
    """The class a value of `annotation` is an instance of (`dict` for `Localized`)."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    runtime = get_origin(annotation) or annotation
    return runtime if isinstance(runtime, type) else object
