"""What a Grafana panel shows, worked out from its JSON and a real Prometheus (Grafana cannot run here).

Grafana itself is not installed on these machines, so this module does the few things Grafana does
between Prometheus and the screen for the panels of deploy/grafana/generate.py, as Grafana
documents them:
- template variables: `query_result(expr)` options (`{labels} value timestamp`, one per series) cut
  by the variable's regex (named groups `text` and `value`), sorted as the variable says; the first
  option is the default, `$__all` stands for the variable's `allValue`;
- queries: `$year`, `$quarter`, `$bureau` substituted, each target run as an instant query; a
  table-format target gives a frame with a column per label and `Value` (`Value #A`, … when the
  panel has several targets); any other target gives one series named by its `legendFormat`;
- transformations: organize (hide, rename, order), joinByField (outer), groupingToMatrix
  (first column `row\\column`) and sortBy.
Value mappings turn a value into its text (the demo banner, 已繳交/未繳交).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
LEGEND = re.compile(r"\{\{\s*(\w+)\s*\}\}")
CJK = re.compile(r"[\u4e00-\u9fff]")

Query = Callable[[str], list[dict]]  # PromQL -> Prometheus' instant `result`


def board(name: str) -> dict:
    return json.loads((DASHBOARDS / name).read_text(encoding="utf-8"))


def data_panels(dashboard: dict) -> list[dict]:
    """The panels that query Prometheus (not rows or text)."""
    return [p for p in dashboard["panels"] if p.get("targets")]


def substitute(expr: str, values: dict[str, str]) -> str:
    for name, value in sorted(values.items(), key=lambda item: -len(item[0])):
        expr = expr.replace("$" + name, value)
    return expr


def query_result_lines(result: list[dict]) -> list[str]:
    """Series as Grafana's query_result() writes them for a variable's regex."""
    lines = []
    for series in result:
        labels = series["metric"]
        name = labels.get("__name__", "")
        inner = ",".join(f'{k}="{v}"' for k, v in labels.items() if k != "__name__")
        lines.append(f"{name}{{{inner}}} {series['value'][1]} {int(float(series['value'][0]) * 1000)}")
    return lines


@dataclass
class Option:
    text: str
    value: str


def variable_options(variable: dict, query: Query, values: dict[str, str]) -> list[Option]:
    definition = variable["query"]["query"]
    match = re.fullmatch(r"query_result\((.*)\)", definition, re.S)
    assert match, definition
    pattern = variable["regex"].strip("/").replace("(?<", "(?P<")
    options, seen = [], set()
    for line in query_result_lines(query(substitute(match.group(1), values))):
        found = re.search(pattern, line)
        if found and found.group("value") not in seen:
            seen.add(found.group("value"))
            options.append(Option(found.group("text"), found.group("value")))
    if variable["sort"] in (1, 2):
        options.sort(key=lambda o: o.text, reverse=variable["sort"] == 2)
    return options


def default_values(dashboard: dict, query: Query) -> tuple[dict[str, str], dict[str, list[Option]]]:
    """Each variable's default, as Grafana picks it on load: the saved `$__all`, else the first option."""
    values: dict[str, str] = {}
    offered: dict[str, list[Option]] = {}
    for variable in dashboard.get("templating", {}).get("list", []):
        options = offered[variable["name"]] = variable_options(variable, query, values)
        if variable.get("includeAll") and variable.get("current", {}).get("value") == "$__all":
            values[variable["name"]] = variable["allValue"]
        else:
            assert options, f"variable {variable['name']} offers nothing"
            values[variable["name"]] = options[0].value
    return values, offered


@dataclass
class View:
    """A panel as a person sees it: a table (columns, rows) or named series with a value each."""

    title: str
    kind: str
    columns: list[str] = field(default_factory=list)
    rows: list[list] = field(default_factory=list)
    series: dict[str, float | str] = field(default_factory=dict)
    no_value: str | None = None

    @property
    def empty(self) -> bool:
        return not self.rows and not self.series


def _frames(panel: dict, query: Query, values: dict[str, str]) -> list[list[dict]]:
    several = len(panel["targets"]) > 1
    frames = []
    for t in panel["targets"]:
        value_name = f"Value #{t['refId']}" if several else "Value"
        frame = []
        for series in query(substitute(t["expr"], values)):
            labels = {k: v for k, v in series["metric"].items() if k != "__name__"}
            frame.append({"Time": series["value"][0], **labels, value_name: float(series["value"][1])})
        frames.append(frame)
    return frames


def _organize(frames, options):
    hidden = options.get("excludeByName", {})
    renames = options.get("renameByName", {})
    order = options.get("indexByName", {})
    result = []
    for frame in frames:
        rows = []
        for row in frame:
            kept = {k: v for k, v in row.items() if not hidden.get(k)}
            ordered = sorted(kept, key=lambda k: order.get(k, len(order)))
            rows.append({renames.get(k, k): kept[k] for k in ordered})
        result.append(rows)
    return result


def _join(frames, options):
    key = options["byField"]
    joined: dict[str, dict] = {}
    for frame in frames:
        for row in frame:
            joined.setdefault(row[key], {key: row[key]}).update(row)
    return [list(joined.values())]


def _matrix(frames, options):
    rows_field, columns_field, value_field = (
        options["rowField"],
        options["columnField"],
        options["valueField"],
    )
    first = f"{rows_field}\\{columns_field}"
    table: dict[str, dict] = {}
    columns: list[str] = []
    for frame in frames:
        for row in frame:
            if row[columns_field] not in columns:
                columns.append(row[columns_field])
            table.setdefault(row[rows_field], {first: row[rows_field]})[row[columns_field]] = row[value_field]
    return [[{first: r[first], **{c: r.get(c) for c in columns}} for r in table.values()]]


def _sort(frames, options):
    (spec,) = options["sort"]
    return [
        sorted(frame, key=lambda r: str(r.get(spec["field"], "")), reverse=spec.get("desc", False))
        for frame in frames
    ]


TRANSFORMS = {"organize": _organize, "joinByField": _join, "groupingToMatrix": _matrix, "sortBy": _sort}


def _mapped(panel: dict, column: str, value):
    config = panel.get("fieldConfig", {})
    mappings = list(config.get("defaults", {}).get("mappings", []))
    for override in config.get("overrides", []):
        if override["matcher"]["options"] == column:
            mappings += next((p["value"] for p in override["properties"] if p["id"] == "mappings"), [])
    for mapping in mappings:
        key = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
        if key in mapping["options"]:
            return mapping["options"][key]["text"]
    return value


def render(panel: dict, query: Query, values: dict[str, str]) -> View:
    """The panel's data as Grafana would show it."""
    view = View(panel["title"], panel["type"], no_value=panel.get("noValue"))
    transformations = panel.get("transformations")
    if panel["type"] == "table" or transformations:
        frames = _frames(panel, query, values)
        for step in transformations or []:
            frames = TRANSFORMS[step["id"]](frames, step["options"])
        rows = [row for frame in frames for row in frame]
        columns: list[str] = []
        for row in rows:
            columns += [c for c in row if c not in columns and c != "Time"]
        view.columns = columns
        view.rows = [[_mapped(panel, c, row.get(c)) for c in columns] for row in rows]
        return view
    for t in panel["targets"]:
        for series in query(substitute(t["expr"], values)):
            labels = series["metric"]
            name = LEGEND.sub(lambda m, named=labels: named.get(m.group(1), ""), t["legendFormat"]) or str(
                labels
            )
            view.series[name] = _mapped(panel, "", float(series["value"][1]))
    return view


def has_chinese(text: str) -> bool:
    return bool(CJK.search(text))
