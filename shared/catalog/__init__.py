"""The plan catalog: bureaus, programs, actions, metrics, indicators and statistical codes."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import yaml
from marshmallow import ValidationError

from .schema import (
    Action,
    AgeBand,
    Catalog,
    CatalogSchema,
    Code,
    CrimeCategory,
    Disclosure,
    District,
    GbvType,
    Goal,
    Indicator,
    Metric,
    Outcome,
    Plan,
    Program,
    Reporting,
    flatten_messages,
)

DEFAULT_CATALOG_PATH = Path(__file__).with_name("new_taipei_dgbv.yaml")
CATALOG_ENV_VAR = "DGBV_CATALOG"
# The C loader parses the catalog several times faster; fall back where libyaml is missing.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CatalogError(ValueError):
    """A catalog file that cannot be read or does not validate."""

    def __init__(self, path: str | os.PathLike, errors: dict[str, list[str]]) -> None:
        self.path = str(path)
        self.errors = errors
        details = "; ".join(f"{key}: {' '.join(texts)}" for key, texts in errors.items())
        super().__init__(f"invalid catalog {self.path}: {details}")


def load_catalog(path: str | os.PathLike) -> Catalog:
    """Read, validate and build the catalog in a YAML file."""
    try:
        with open(path, encoding="utf-8") as f:
            raw = yaml.load(f, Loader=_LOADER)
    except OSError as exc:
        raise CatalogError(path, {"<file>": [exc.strerror or str(exc)]}) from exc
    except yaml.YAMLError as exc:
        raise CatalogError(path, {"<yaml>": [" ".join(str(exc).split())]}) from exc
    try:
        return CatalogSchema().load(raw)
    except ValidationError as exc:
        raise CatalogError(path, flatten_messages(exc.messages)) from exc


def catalog_at(path: str | os.PathLike | None) -> Catalog:
    """The catalog of an app's CATALOG_PATH setting, or the default one."""
    return load_catalog(path) if path else default_catalog()


@functools.cache
def default_catalog() -> Catalog:
    """Return the catalog named by $DGBV_CATALOG, or New Taipei City's plan (loaded once)."""
    return load_catalog(os.environ.get(CATALOG_ENV_VAR) or DEFAULT_CATALOG_PATH)


__all__ = [
    "CATALOG_ENV_VAR",
    "DEFAULT_CATALOG_PATH",
    "Action",
    "AgeBand",
    "Catalog",
    "CatalogError",
    "Code",
    "CrimeCategory",
    "Disclosure",
    "District",
    "GbvType",
    "Goal",
    "Indicator",
    "Metric",
    "Outcome",
    "Plan",
    "Program",
    "Reporting",
    "catalog_at",
    "default_catalog",
    "load_catalog",
]
