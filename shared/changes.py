"""The change feed's contract: one typed, versioned payload per kind of change.

intake writes every change with `write(payload)`; kpi reads it back with `read(entity, data)`. A
field renamed, added or dropped on one side without the other fails loudly (a `ContractError`,
and a test), instead of kpi quietly reading None. Each kind has a version: a payload of a version
this code does not know is refused, so an old kpi never misreads a newer intake.

The payloads are plain dataclasses with precompiled converters: a million case records are read
in seconds, where a marshmallow schema takes a minute.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from collections.abc import Callable
from typing import Any, ClassVar

VERSION_KEY = "v"


class ContractError(ValueError):
    """A change payload that does not follow the contract of its kind and version."""


@dataclasses.dataclass(frozen=True)
class SexCounts:
    male: int | None
    female: int | None
    other: int | None


@dataclasses.dataclass(frozen=True)
class ActionValues:
    """One action of a report: its metrics' values, and the parts of those counted by sex."""

    action: str
    values: dict[str, int | None]
    by_sex: dict[str, SexCounts]


@dataclasses.dataclass(frozen=True)
class ReportChange:
    entity: ClassVar[str] = "report"
    version: ClassVar[int] = 1
    bureau: str
    year: int
    quarter: int
    status: str
    narrative: str
    revision: int
    # What made this revision: created, saved, submitted, resubmitted, amended, accepted, returned,
    # reopened; a follower reacts to events (notify e-mails a returned or reopened report at once).
    event: str
    submitted_at: dt.datetime | None
    reopened_at: dt.datetime | None
    updated_at: dt.datetime
    actions: tuple[ActionValues, ...]

    @property
    def key(self) -> str:
        return f"{self.bureau}/{self.year}/{self.quarter}"


@dataclasses.dataclass(frozen=True)
class TargetChange:
    entity: ClassVar[str] = "target"
    version: ClassVar[int] = 1
    year: int
    action: str
    metric: str
    annual: int
    quarterly: tuple[int, ...] | None
    updated_at: dt.datetime
    updated_by: str

    @property
    def key(self) -> str:
        return f"{self.year}/{self.action}/{self.metric}"


@dataclasses.dataclass(frozen=True)
class OutcomeChange:
    entity: ClassVar[str] = "outcome"
    version: ClassVar[int] = 1
    indicator: str
    year: int
    quarter: int
    count: int
    revision: int
    updated_at: dt.datetime
    updated_by: str

    @property
    def key(self) -> str:
        return f"{self.indicator}/{self.year}/{self.quarter}"


@dataclasses.dataclass(frozen=True)
class CaseChange:
    entity: ClassVar[str] = "case"
    version: ClassVar[int] = 1
    ref: str
    date: dt.date
    category: str
    types: tuple[int, ...]
    role: str
    sex: str
    age_band: str
    cause: str | None
    relationship: str | None
    district: str | None

    @property
    def key(self) -> str:
        return self.ref


@dataclasses.dataclass(frozen=True)
class InstallationChange:
    entity: ClassVar[str] = "installation"
    version: ClassVar[int] = 1
    installed_on: dt.date | None
    first_quarter: str

    @property
    def key(self) -> str:
        return "installation"


KINDS: dict[str, type] = {
    kind.entity: kind for kind in (ReportChange, TargetChange, OutcomeChange, CaseChange, InstallationChange)
}


# -- converters, compiled once per dataclass from its annotations ---------------------------------
Codec = tuple[Callable[[Any], Any], Callable[[Any], Any]]  # (to data, from data)


def _identity(value):
    return value


def _codec(annotation) -> Codec:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        (inner,) = [a for a in args if a is not type(None)]
        encode, decode = _codec(inner)
        return (lambda v: None if v is None else encode(v)), (lambda v: None if v is None else decode(v))
    if annotation is dt.datetime:
        return (lambda v: v.isoformat()), dt.datetime.fromisoformat
    if annotation is dt.date:
        return (lambda v: v.isoformat()), dt.date.fromisoformat
    if annotation in (str, int, bool):
        return _identity, _checked(annotation)
    if origin is tuple:
        encode, decode = _codec(args[0])
        return (lambda v: [encode(item) for item in v]), (lambda v: tuple(decode(item) for item in _list(v)))
    if origin is dict:
        encode, decode = _codec(args[1])
        return (lambda v: {k: encode(item) for k, item in v.items()}), (
            lambda v: {str(k): decode(item) for k, item in _dict(v).items()}
        )
    if dataclasses.is_dataclass(annotation):
        return _to_data(annotation), _from_data(annotation)
    raise TypeError(f"no converter for {annotation!r}")


def _checked(kind: type) -> Callable[[Any], Any]:
    def decode(value):
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ContractError(f"expected {kind.__name__}, got {value!r}")
        return value

    return decode


def _list(value) -> list:
    if not isinstance(value, list):
        raise ContractError(f"expected a list, got {value!r}")
    return value


def _dict(value) -> dict:
    if not isinstance(value, dict):
        raise ContractError(f"expected an object, got {value!r}")
    return value


_FIELDS: dict[type, list[tuple[str, Codec]]] = {}


def _fields(kind: type) -> list[tuple[str, Codec]]:
    if kind not in _FIELDS:
        hints = typing.get_type_hints(kind)
        _FIELDS[kind] = [(f.name, _codec(hints[f.name])) for f in dataclasses.fields(kind)]
    return _FIELDS[kind]


def _to_data(kind: type) -> Callable[[Any], dict]:
    def encode(value) -> dict:
        return {name: codec[0](getattr(value, name)) for name, codec in _fields(kind)}

    return encode


def _from_data(kind: type) -> Callable[[Any], Any]:
    def decode(data):
        data = _dict(data)
        names = [name for name, _ in _fields(kind)]
        unexpected = set(data) - set(names) - {VERSION_KEY}
        missing = [name for name in names if name not in data]
        if unexpected or missing:
            raise ContractError(
                f"{kind.__name__}: missing {missing or 'nothing'}, unexpected {sorted(unexpected) or 'nothing'}"
            )
        try:
            return kind(**{name: codec[1](data[name]) for name, codec in _fields(kind)})
        except (TypeError, ValueError) as error:
            raise ContractError(f"{kind.__name__}: {error}") from None

    return decode


# -- the two sides ----------------------------------------------------------------------------------
def write(payload) -> dict:
    """A change's data as intake stores it in the feed, with its kind's version."""
    return {VERSION_KEY: payload.version, **_to_data(type(payload))(payload)}


def read(entity: str, data: dict):
    """A change's data as kpi reads it: the typed payload of its kind, or a ContractError."""
    kind = KINDS.get(entity)
    if kind is None:
        raise ContractError(f"unknown kind of change {entity!r}")
    version = data.get(VERSION_KEY, 1) if isinstance(data, dict) else None
    if version != kind.version:
        raise ContractError(
            f"{entity} changes of version {version!r}: this reader knows version {kind.version}"
        )
    return _from_data(kind)(data)
