"""Walk an OpenAPI document for inputs without bounds: the numbers and strings a client may send.

Query parameters and JSON bodies are walked. Path parameters are walked for numbers only: a path's
strings are bounded by the server's request line and name a catalog id or nothing (404), and its
numbers are ids that reach the database. Headers are bounded by the server, files and CSV bodies by
the request size limit.
"""

from __future__ import annotations

# Strings whose format bounds them already.
BOUNDED_FORMATS = {"date", "date-time"}


def unbounded_inputs(spec: dict) -> list[str]:
    """Every input that is an integer without a minimum and a maximum, or a string without a
    maxLength (an enum or a date need none), as `METHOD path: where`."""
    found = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            where = f"{method.upper()} {path}"
            for parameter in [*operations.get("parameters", []), *operation.get("parameters", [])]:
                schema = parameter.get("schema", {})
                if parameter["in"] == "query" or (
                    parameter["in"] == "path" and schema.get("type") == "integer"
                ):
                    found += _unbounded(spec, schema, f"{where}: {parameter['name']}")
            for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
                if media_type.endswith("json"):
                    found += _unbounded(spec, content.get("schema", {}), f"{where}: body ({media_type})")
    return sorted(set(found))


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        node = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _unbounded(spec: dict, schema: dict, where: str, seen: frozenset = frozenset()) -> list[str]:
    reference = schema.get("$ref")
    if reference is not None:
        if reference in seen:  # a schema nested in itself
            return []
        seen = seen | {reference}
    schema = _resolve(spec, schema)
    kind = schema.get("type")
    if "enum" in schema:
        return []
    if kind == "integer" and ("minimum" not in schema or "maximum" not in schema):
        return [f"{where}: integer without minimum and maximum"]
    if kind == "string" and "maxLength" not in schema and schema.get("format") not in BOUNDED_FORMATS:
        return [f"{where}: string without maxLength"]
    found = []
    for name, member in schema.get("properties", {}).items():
        found += _unbounded(spec, member, f"{where}.{name}", seen)
    for nested in ("items", "additionalProperties"):
        if isinstance(schema.get(nested), dict):
            found += _unbounded(spec, schema[nested], f"{where}.{nested}", seen)
    for combined in schema.get("allOf", []) + schema.get("anyOf", []) + schema.get("oneOf", []):
        found += _unbounded(spec, combined, where, seen)
    return found
