"""Checks of facets against their published schemas, derived from openlineage-python's generated
classes (each attrs field: its name, whether it has a default, and its type) the first time a
facet of that class is checked. Pure: no I/O.

What is checked is what the schema requires and types: required members, strings, numbers,
booleans, arrays, objects, the values of enumerations and literals. Members the schema does not
name are allowed (facets may carry more), and `_producer` and `_schemaURL` are not checked (the
catalog does not read them).
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Callable
from typing import Any, Union

import attr
import msgspec

Problems = list[tuple[str, str]]  # (path, message)
Check = Callable[[Any, str, Problems], None]

MAX_PROBLEMS = 5  # reported per facet: the first ones say enough


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, dict) else type(value).__name__


def _scalar(kind: type, expected: str) -> Check:
    accepted: tuple[type, ...] = (int, float) if kind is float else (kind,)  # JSON numbers: 1 is a float too

    def check(value: Any, path: str, problems: Problems) -> None:
        if not isinstance(value, accepted) or (kind is not bool and isinstance(value, bool)):
            problems.append((path, f"expected {expected}, got {_type_name(value)}"))

    return check


_ATOMS = (
    str,
    int,
    float,
    bool,
    type(None),
)  # what a literal or an enumeration value may be (arrays and objects are unhashable)


def _anything(value: Any, path: str, problems: Problems) -> None:
    return None


def _check_for(annotation: Any) -> Check:
    """The check of one annotation of a generated class."""
    if annotation is Any or annotation is object:
        return _anything
    if annotation is str:
        return _scalar(str, "a string")
    if annotation is bool:
        return _scalar(bool, "a boolean")
    if annotation is int:
        return _scalar(int, "an integer")
    if annotation is float:
        return _scalar(float, "a number")
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin in (Union, types.UnionType):
        return _union([a for a in arguments if a is not type(None)], type(None) in arguments)
    if origin is typing.Literal:
        allowed = set(arguments)

        def literal(value: Any, path: str, problems: Problems) -> None:
            if not isinstance(value, _ATOMS) or value not in allowed:
                problems.append(
                    (path, f"must be {' or '.join(map(repr, sorted(allowed, key=str)))}, got {value!r}"[:200])
                )

        return literal
    if origin is list:
        item = _check_for(arguments[0]) if arguments else _anything

        def array(value: Any, path: str, problems: Problems) -> None:
            if not isinstance(value, list):
                problems.append((path, f"expected an array, got {_type_name(value)}"))
                return
            for i, element in enumerate(value):
                item(element, f"{path}[{i}]", problems)
                if len(problems) >= MAX_PROBLEMS:
                    return

        return array
    if origin is dict:
        member = _check_for(arguments[1]) if len(arguments) == 2 else _anything

        def mapping(value: Any, path: str, problems: Problems) -> None:
            if not isinstance(value, dict):
                problems.append((path, f"expected an object, got {_type_name(value)}"))
                return
            for key, element in value.items():
                member(element, f"{path}.{str(key)[:64]}", problems)
                if len(problems) >= MAX_PROBLEMS:
                    return

        return mapping
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        values = {member.value for member in annotation}

        def enumeration(value: Any, path: str, problems: Problems) -> None:
            if not isinstance(value, _ATOMS) or value not in values:
                problems.append((path, f"must be one of {', '.join(sorted(map(str, values)))}, got {value!r}"[:200]))

        return enumeration
    if isinstance(annotation, type) and attr.has(annotation):
        return _object_check(annotation)
    return _anything  # a type the generator does not use: nothing to hold it to


def _union(alternatives: list[Any], nullable: bool) -> Check:
    if len(alternatives) == 1:
        only = _check_for(alternatives[0])

        def optional(value: Any, path: str, problems: Problems) -> None:
            if value is None and nullable:
                return
            only(value, path, problems)

        return optional
    checks = [_check_for(a) for a in alternatives]
    kinds = [_kind_of(a) for a in alternatives]

    def any_of(value: Any, path: str, problems: Problems) -> None:
        if value is None and nullable:
            return
        best: Problems | None = None
        named: Problems | None = None  # the problems of the alternative whose `type` the value names
        for check, kind in zip(checks, kinds, strict=True):
            found: Problems = []
            check(value, path, found)
            if not found:
                return
            if kind is not None and isinstance(value, dict) and value.get("type") == kind:
                named = found
            if best is None or len(found) < len(best):
                best = found
        problems.extend(named or best or [])

    return any_of


def _kind_of(annotation: Any) -> str | None:
    """The `type` a generated class's objects carry (`binary`, `compare` ...), when it has one."""
    if not (isinstance(annotation, type) and attr.has(annotation)):
        return None
    field = getattr(attr.fields(annotation), "type", None)
    return field.default if field is not None and isinstance(field.default, str) else None


_OBJECTS: dict[type, Check] = {}


def _object_check(cls: type) -> Check:
    """The check of an object of a generated class (memoised: classes refer to each other)."""
    known = _OBJECTS.get(cls)
    if known is not None:
        return known
    fields: list[tuple[str, bool, Check]] = []
    hints = typing.get_type_hints(cls)  # each base's annotations in its own module

    def check(value: Any, path: str, problems: Problems) -> None:
        if not isinstance(value, dict):
            problems.append((path, f"expected an object, got {_type_name(value)}"))
            return
        for name, required, member in fields:
            if name in value:
                member(value[name], f"{path}.{name}", problems)
            elif required:
                problems.append((f"{path}.{name}", "is required"))
            if len(problems) >= MAX_PROBLEMS:
                return

    _OBJECTS[cls] = check  # before its fields, so that a class that refers to itself finds it
    for field in attr.fields(cls):
        if field.name.startswith("_"):
            continue
        fields.append((field.name, field.default is attr.NOTHING, _check_for(hints.get(field.name, Any))))
    return check


_encode = msgspec.json.Encoder().encode
_seen: dict[tuple[type, bytes], Problems] = {}  # facets repeat from event to event: a job's schema, its SQL
_SEEN_LIMIT = 4096


def facet_problems(schema: type, value: Any, path: str) -> Problems:
    """What is wrong with `value` as a facet of the generated class `schema`, at most MAX_PROBLEMS,
    each with its path under `path`."""
    try:
        key = (schema, _encode(value))
    except (TypeError, ValueError, OverflowError):  # not plain JSON: checked each time
        key = None
    found = _seen.get(key) if key is not None else None
    if found is None:
        found = []
        try:
            _object_check(schema)(value, "", found)
        except RecursionError:  # nested deeper than the checks can follow (max_json_depth allows 200)
            found = [("", "nested too deeply to check against its schema")]
        found = found[:MAX_PROBLEMS]
        if key is not None:
            if len(_seen) >= _SEEN_LIMIT:
                _seen.clear()
            _seen[key] = found
    return [(path + where, message) for where, message in found]
