"""JSON for the fold's frozen dataclasses, so the storage can keep a person's derived state:
dataclasses as objects, tuples as arrays, times as RFC 3339 text, enums by value. Encoders and
decoders are built once per type (the processors serialise on every fold).
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import Any

Convert = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


@functools.cache
def _dataclass_fields(cls: type) -> tuple[str, ...] | None:
    return _field_names(cls) if dataclasses.is_dataclass(cls) else None


def to_plain(value: Any) -> Any:
    cls: type = type(value)
    if cls in _SCALARS or value is None:
        return value
    names = _dataclass_fields(cls)
    if names is not None:
        return {name: to_plain(getattr(value, name)) for name in names}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    return value


_SCALARS = frozenset({str, int, float, bool})


def from_plain(tp: Any, value: Any) -> Any:
    """The value of type `tp` that `to_plain` turned into `value`."""
    return _decoder(tp)(value)


@functools.cache
def _decoder(tp: Any) -> Convert:
    # A stored state holds ~40 dataclasses and ~200 plain values (9 KB of JSON for a national
    # year's average person): plain values are taken as they are, without a call each.
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        (inner,) = [a for a in typing.get_args(tp) if a is not type(None)]
        decode_inner = _decoder(inner)
        if decode_inner is _identity:
            return _identity
        return lambda v: None if v is None else decode_inner(v)
    if origin is tuple:
        decode_item = _decoder(typing.get_args(tp)[0])
        if decode_item is _identity:
            return tuple
        return lambda v: tuple([decode_item(x) for x in v])
    if isinstance(tp, type):
        if dataclasses.is_dataclass(tp):
            return _dataclass_decoder(tp)
        if issubclass(tp, Enum):
            return _enum_decoder(tp)
        if tp is datetime:
            return datetime.fromisoformat
    return _identity


def _enum_decoder(tp: type[Enum]) -> Convert:
    members = {m.value: m for m in tp}

    def decode(value: Any) -> Any:
        # An unknown value raises as the enum itself does.
        return members[value] if value in members else tp(value)

    return decode


def _dataclass_decoder(cls: type) -> Convert:
    hints = typing.get_type_hints(cls)
    names = frozenset(_field_names(cls))
    converted = [
        (name, dec) for name in _field_names(cls) if (dec := _decoder(hints[name])) is not _identity
    ]

    def decode(value: Any) -> Any:
        if not value.keys() <= names:
            # Keys no field has (a state stored by another version): left out.
            value = {k: v for k, v in value.items() if k in names}
        kwargs = dict(value)
        for name, dec in converted:
            if name in kwargs:
                kwargs[name] = dec(kwargs[name])
        return cls(**kwargs)

    return decode
