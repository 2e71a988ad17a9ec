"""Walk every route of a service's OpenAPI document and check who is let in."""

from __future__ import annotations

import re

HTTP_METHODS = ("get", "put", "post", "patch", "delete")


def api_routes(spec: dict, examples: dict[str, str]) -> list[tuple[str, str]]:
    """(METHOD, concrete path) for every /api/ operation; path parameters filled from `examples`."""
    routes = []
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/"):
            continue
        concrete = re.sub(r"\{([^}]+)\}", lambda m: examples[m.group(1)], path)
        routes += [(method.upper(), concrete) for method in operations if method in HTTP_METHODS]
    return sorted(routes)


def check_route(
    call, method: str, path: str, allowed: set[str], everyone: set[str], refused_tokens: list[str]
):
    """No token, a malformed or revoked token: 401. A refused role: 403. An allowed one: neither."""
    problems = []
    if (status := call(None, method, path)) != 401:
        problems.append(f"no token -> {status}")
    for token in refused_tokens:
        if (status := call(token, method, path)) != 401:
            problems.append(f"token {token[:10]}… -> {status}")
    for who in sorted(everyone):
        status = call(who, method, path)
        if who in allowed and status in (401, 403):
            problems.append(f"{who} (allowed) -> {status}")
        if who not in allowed and status != 403:
            problems.append(f"{who} (refused) -> {status}")
    return problems
