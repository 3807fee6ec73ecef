"""A JSON codec for the frozen domain dataclasses, driven by their type hints.

Used to keep open positions and the hedge engine's state in Redis so a restart resumes the
day where it stopped. Decimals travel as strings (exact), datetimes as ISO 8601 with offset
(zoned New York times come back as New York times), enums by value.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from core.calendar import NEW_YORK


def to_jsonable(value: Any) -> Any:
    """Return `value` as JSON-ready data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [to_jsonable(v) for v in value]
    return value


def from_jsonable(kind: Any, data: Any) -> Any:  # noqa: C901 - one branch per shape
    """Rebuild a value of type `kind` from `to_jsonable` output.

    Raises:
        ValueError: If the data does not fit the type, naming the type and the value.
    """
    origin = typing.get_origin(kind)
    if kind is typing.Any:
        return data
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(kind)
        if data is None and type(None) in options:
            return None
        for option in options:
            if option is type(None):
                continue
            try:
                return from_jsonable(option, data)
            except (ValueError, TypeError, KeyError):
                continue
        raise ValueError(f"{data!r} fits none of {kind}")
    if origin is tuple:
        args = typing.get_args(kind)
        if len(args) == 2 and args[1] is Ellipsis:  # tuple[X, ...]
            return tuple(from_jsonable(args[0], v) for v in data)
        return tuple(from_jsonable(a, v) for a, v in zip(args, data, strict=True))
    if origin in (dict, Mapping, typing.Mapping) or kind is dict:
        key_type, value_type = typing.get_args(kind) or (str, typing.Any)
        return {from_jsonable(key_type, k): from_jsonable(value_type, v) for k, v in data.items()}
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        values = {
            f.name: from_jsonable(hints[f.name], data[f.name])
            for f in dataclasses.fields(kind)
            if f.name in data and f.init
        }
        return kind(**values)
    if isinstance(kind, type) and issubclass(kind, Enum):
        return kind(data)
    if kind is Decimal:
        return Decimal(data)
    if kind is datetime:
        moment = datetime.fromisoformat(data)
        return moment.astimezone(NEW_YORK) if moment.tzinfo is not None else moment
    if kind is date:
        return date.fromisoformat(data)
    if kind is float:
        return float(data)
    if kind in (int, str, bool):
        if not isinstance(data, kind):
            raise ValueError(f"expected {kind.__name__}, got {data!r}")
        return data
    raise ValueError(f"cannot decode {kind!r} from {data!r}")
