"""One settings loader for the three services and their commands: typed, read once, failing fast.

Each service lists its settings (`services/<name>/config.py`); its app factory loads them from the
environment once, and a value that is missing or malformed stops the process at start with a
message naming the variable, instead of failing later in a request. Every yes/no setting parses
alike. The plan's own rules (due dates, threshold, goals) are not settings: they are the catalog's.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REQUIRED = object()
_YES, _NO = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


class SettingsError(ValueError):
    """A setting that is missing or malformed: the process refuses to start."""


@dataclass(frozen=True)
class Setting:
    """One setting: the app config key, how its text is read, and its default.

    `default` is a value (or REQUIRED); `default_from` computes one from the environment instead.
    `env` names the environment variable when it differs from the key. A `secret` setting's value
    is never repeated in an error message.
    """

    key: str
    parse: Callable[[str], Any]
    default: Any = None
    env: str | None = None
    default_from: Callable[[Mapping[str, str]], Any] | None = None
    secret: bool = False

    @property
    def variable(self) -> str:
        return self.env or self.key


def load(
    settings: Iterable[Setting], environ: Mapping[str, str] | None = None, given: Mapping | None = None
) -> dict:
    """Every setting's value: `given` (already typed, as tests pass them) wins over the environment."""
    environ = os.environ if environ is None else environ
    given = given or {}
    values, errors = {}, []
    for setting in settings:
        if given.get(setting.key) is not None or (setting.key in given and setting.default is not REQUIRED):
            values[setting.key] = given[setting.key]
            continue
        raw = environ.get(setting.variable)
        if raw is None or not raw.strip():
            if setting.default is REQUIRED:
                errors.append(f"{setting.variable} is required")
            elif setting.default_from is not None:
                values[setting.key] = setting.default_from(environ)
            else:
                values[setting.key] = setting.default
            continue
        try:
            values[setting.key] = setting.parse(raw.strip())
        except ValueError as error:
            shown = setting.variable if setting.secret else f"{setting.variable}={raw.strip()!r}"
            errors.append(f"{shown}: {error}")
    if errors:
        raise SettingsError("; ".join(errors))
    return values


# -- how a value is read ------------------------------------------------------------------------
def text(value: str) -> str:
    return value


def flag(value: str) -> bool:
    """A yes/no setting: 1, true, yes, on or 0, false, no, off (any case)."""
    lowered = value.lower()
    if lowered in _YES:
        return True
    if lowered in _NO:
        return False
    raise ValueError("must be true or false (also 1/0, yes/no, on/off)")


def _numeric(convert: type, what: str, minimum, maximum) -> Callable[[str], Any]:
    def parse(value: str):
        try:
            result = convert(value)
        except ValueError:
            raise ValueError(f"must be {what}") from None
        if minimum is not None and result < minimum:
            raise ValueError(f"must be at least {minimum}")
        if maximum is not None and result > maximum:
            raise ValueError(f"must be at most {maximum}")
        return result

    return parse


def whole(minimum: int | None = None, maximum: int | None = None) -> Callable[[str], int]:
    return _numeric(int, "a whole number", minimum, maximum)


def number(minimum: float | None = None, maximum: float | None = None) -> Callable[[str], float]:
    return _numeric(float, "a number", minimum, maximum)


def words(value: str) -> list[str]:
    """A comma-separated list."""
    return [item.strip() for item in value.split(",") if item.strip()]


def choice(*options: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return value

    return parse


def url(value: str) -> str:
    """An http(s) URL, without a trailing slash."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http:// or https:// URL")
    return value.rstrip("/")


def hours(value: str) -> dt.timedelta:
    return dt.timedelta(hours=whole(minimum=1)(value))


STRONG_SECRET_LENGTH, STRONG_SECRET_VARIETY = 32, 10


def strong_secret(value: str) -> str:
    """A bearer token handed over in the environment: long and varied enough not to be guessed."""
    if len(value) < STRONG_SECRET_LENGTH or len(set(value)) < STRONG_SECRET_VARIETY:
        raise ValueError(
            f"must be at least {STRONG_SECRET_LENGTH} characters, at least {STRONG_SECRET_VARIETY} of them "
            "different; make one with: python -c \"import secrets; print('dgbv_' + secrets.token_urlsafe(32))\""
        )
    return value


# -- what every service shares ------------------------------------------------------------------
def var_dir(environ: Mapping[str, str]) -> Path:
    """Where a service keeps its files on its embedded defaults (`make run`): DGBV_VAR_DIR or var/."""
    return Path(environ.get("DGBV_VAR_DIR") or "var")


def sqlite_in_var(name: str) -> Callable[[Mapping[str, str]], str]:
    return lambda environ: f"sqlite:///{(var_dir(environ) / f'{name}.db').resolve()}"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# Every web worker's bounds (gunicorn: services/gunicorn_conf.py and the development server, shared/server.py):
# a request running longer is ended with its worker, which gunicorn replaces; memory beyond the ceiling
# is a MemoryError in the request that asks for it (a 500), and the worker serves on.
WEB_LIMITS = (
    # The slowest legitimate request, a 10,000-record case upload on PostgreSQL, takes a few seconds.
    Setting("WEB_TIMEOUT_SECONDS", whole(1, 3600), 30),
    # A worker holds ~90 MB at rest (~180 MB of data segment with its four threads' stacks); two
    # password checks at once add 128 MB (argon2, 64 MiB each).
    Setting("WEB_MEMORY_LIMIT_MB", whole(128), 512),
)


def common(service: str, port: int) -> tuple[Setting, ...]:
    """The settings every service has: its database, listening address, logs, the catalog, and the
    token Prometheus scrapes /metrics with (shared/observability.py)."""
    return (
        Setting("DATABASE_URL", text, default_from=sqlite_in_var(service)),
        Setting("HOST", text, "127.0.0.1"),
        Setting("PORT", whole(1, 65535), port),
        Setting("WEB_WORKERS", whole(1), 1),
        *WEB_LIMITS,
        Setting(
            "LOG_LEVEL", lambda value: choice("DEBUG", "INFO", "WARNING", "ERROR")(value.upper()), "INFO"
        ),
        Setting("CATALOG_PATH", text, env="DGBV_CATALOG"),
        Setting("METRICS_TOKEN", strong_secret, secret=True),
    )


def public_base_url() -> Setting:
    """The address people open the product at (the reverse proxy's, https:// in a deployment):
    every link in an e-mail is built from it, and nothing else names the public address."""
    return Setting("PUBLIC_BASE_URL", url, "http://127.0.0.1:8001")


def load_one(settings: Iterable[Setting], key: str, environ: Mapping[str, str] | None = None):
    """One setting's value, for a command that needs no more (e.g. `migrate`, its database)."""
    return load([s for s in settings if s.key == key], environ)[key]


def configure(config: dict, settings: Iterable[Setting], fixed: Mapping, given: Mapping | None) -> None:
    """Fill an app's config: what is fixed by design, every setting from the environment, then what
    the caller gave (tests), which wins."""
    config.update({"CLOCK": utc_now, **fixed})
    config.update(load(settings, given=given))
    if given:
        config.update(given)
