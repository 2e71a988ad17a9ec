"""Draw the committee dashboard's data as its panels would show it, into docs/screenshots/.

    .venv/bin/python -m tests.deploy.dashboard_screenshots [--out docs/screenshots]

Grafana cannot run on these machines. This script starts what the panel test starts (intake with
demo data, kpi, a real Prometheus scraping kpi with the shipped configuration), works out every
panel's data the way tests/helpers/dashboards.py does (variables at their defaults: the current
reporting period), lays the panels out on the dashboard's own 24-column grid (tables as tables,
bar charts and gauges as SVG drawn here, thresholds and value mappings applied) and has Debian's
chromium photograph the page. It is a picture of the data, not of Grafana's look.
"""

from __future__ import annotations

import argparse
import html
import re
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.helpers import dashboards
from tests.helpers.live import demo_deployment

ROOT = Path(__file__).resolve().parents[2]
PALETTE = ["#5794f2", "#f2a65a", "#73bf69", "#b877d9", "#ff7383", "#8ab8ff"]
NAMED = {"green": "#56a64b", "orange": "#ff9830", "red": "#e02f44", "text": "#222", "gray": "#999"}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def color_for(panel: dict, value) -> str:
    steps = panel.get("fieldConfig", {}).get("defaults", {}).get("thresholds", {}).get("steps") or []
    color = PALETTE[0]
    for step in steps:
        if step["value"] is None or (isinstance(value, int | float) and value >= step["value"]):
            color = NAMED.get(step["color"], step["color"])
    return color


def shown(panel: dict, value, column: str | None = None) -> str:
    """A value with the panel's unit and decimals (a column's own, where the panel sets them)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return html.escape(value)
    config = panel.get("fieldConfig", {})
    defaults = dict(config.get("defaults", {}))
    for override in config.get("overrides", []):
        if override["matcher"]["options"] == column:
            defaults.update({p["id"]: p["value"] for p in override["properties"]})
    decimals = defaults.get("decimals")
    if defaults.get("unit") == "percentunit":
        return f"{value * 100:.{decimals or 0}f}%"
    if decimals is None:
        decimals = 0 if float(value).is_integer() else 2
    return f"{value:,.{decimals}f}"


def table_html(panel: dict, view: dashboards.View) -> str:
    if view.empty:
        return f'<p class="none">{html.escape(view.no_value or "無資料")}</p>'
    head = "".join(f"<th>{html.escape(str(c)).replace(chr(92), ' ＼ ')}</th>" for c in view.columns)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{shown(panel, cell, column)}</td>" for column, cell in zip(view.columns, row, strict=True)
        )
        + "</tr>"
        for row in view.rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def bars_svg(categories: list[str], series: dict[str, list], horizontal: bool, panel: dict) -> str:
    values = [v for vs in series.values() for v in vs if isinstance(v, int | float)]
    top = max(values, default=1) or 1
    legend = "".join(
        f'<span class="key"><i style="background:{PALETTE[i % len(PALETTE)]}"></i>{html.escape(name)}</span>'
        for i, name in enumerate(series)
    )
    if horizontal:
        row_h, label_w, width = 14 * max(1, len(series)) + 8, 260, 700
        height = row_h * len(categories) + 10
        parts = []
        for r, category in enumerate(categories):
            y = 5 + r * row_h
            parts.append(
                f'<text x="{label_w - 6}" y="{y + row_h / 2 + 4}" text-anchor="end">{html.escape(category)}</text>'
            )
            for i, vs in enumerate(series.values()):
                value = vs[r]
                if isinstance(value, int | float):
                    w = (width - label_w - 60) * value / top
                    parts.append(
                        f'<rect x="{label_w}" y="{y + i * 14}" width="{w:.1f}" height="12" fill="{PALETTE[i % len(PALETTE)]}"/>'
                    )
                    parts.append(
                        f'<text x="{label_w + w + 4}" y="{y + i * 14 + 10}">{shown(panel, value)}</text>'
                    )
        return f'<svg viewBox="0 0 {width} {height}" width="100%" style="max-width:{width}px">{"".join(parts)}</svg><div>{legend}</div>'
    width, height, base = 760, 230, 200
    slot = (width - 40) / max(1, len(categories))
    bar = max(3, (slot - 6) / max(1, len(series)))
    parts = []
    for c, category in enumerate(categories):
        x0 = 30 + c * slot
        for i, (name, vs) in enumerate(series.items()):
            value = vs[c]
            if isinstance(value, int | float):
                h = (base - 20) * value / top
                parts.append(
                    f'<rect x="{x0 + i * bar:.1f}" y="{base - h:.1f}" width="{bar - 1:.1f}" height="{h:.1f}" fill="{PALETTE[i % len(PALETTE)]}"><title>{html.escape(name)} {shown(panel, value)}</title></rect>'
                )
        parts.append(
            f'<text x="{x0 + slot / 2 - 3:.1f}" y="{base + 14}" text-anchor="middle" class="tick">{html.escape(category.removeprefix("民國"))}</text>'
        )
    return f'<svg viewBox="0 0 {width} {height}" width="100%" style="max-width:{width}px">{"".join(parts)}</svg><div>{legend}</div>'


def chart_html(panel: dict, view: dashboards.View) -> str:
    if view.empty:
        return f'<p class="none">{html.escape(view.no_value or "無資料")}</p>'
    categories = [str(row[0]) for row in view.rows]
    series = {name: [row[i + 1] for row in view.rows] for i, name in enumerate(view.columns[1:])}
    horizontal = panel.get("options", {}).get("orientation") == "horizontal"
    return bars_svg(categories, series, horizontal, panel)


def gauge_html(panel: dict, view: dashboards.View) -> str:
    maximum = panel.get("fieldConfig", {}).get("defaults", {}).get("max", 1)
    rows = []
    for name, value in view.series.items():
        share = min(1, max(0, value / maximum))
        rows.append(
            f'<div class="gauge"><span>{html.escape(name)}</span><b style="width:{share * 60:.1f}%;'
            f'background:{color_for(panel, value)}"></b><em>{shown(panel, value)}</em></div>'
        )
    return "".join(rows) or f'<p class="none">{html.escape(view.no_value or "無資料")}</p>'


def stat_html(panel: dict, view: dashboards.View) -> str:
    cells = []
    text_mode = panel.get("options", {}).get("textMode")
    for name, value in view.series.items():
        colour = color_for(panel, value if not isinstance(value, str) else 1)
        big = html.escape(name) if text_mode == "name" else shown(panel, value)
        small = "" if text_mode in ("name", "value") else f"<small>{html.escape(name)}</small>"
        background = (
            f"background:{colour};color:#fff"
            if panel.get("options", {}).get("colorMode") == "background"
            else ""
        )
        cells.append(f'<div class="stat" style="{background}">{small}<strong>{big}</strong></div>')
    return "".join(cells)


def markdown(text: str) -> str:
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(text))


def page(board: dict, views: dict[int, dashboards.View], subtitle: str) -> str:
    cards = []
    for item in board["panels"]:
        g = item["gridPos"]
        style = f"grid-column:{g['x'] + 1}/span {g['w']};grid-row:{g['y'] + 1}/span {g['h']}"
        title = html.escape(item["title"])
        if item["type"] == "row":
            cards.append(f'<h2 style="{style}">{title}</h2>')
            continue
        if item["type"] == "text":
            body = f"<p>{markdown(item['options']['content'])}</p>"
        else:
            view = views[item["id"]]
            body = {
                "table": table_html,
                "barchart": chart_html,
                "bargauge": gauge_html,
                "stat": stat_html,
            }[item["type"]](item, view)
        cards.append(f'<section style="{style}"><h3>{title}</h3><div class="body">{body}</div></section>')
    return f"""<!doctype html><html lang="zh-Hant"><meta charset="utf-8"><style>
body{{font-family:"Noto Sans CJK TC","Noto Sans CJK",sans-serif;background:#f4f5f5;margin:16px;color:#222}}
header h1{{font-size:20px;margin:0}} header p{{margin:4px 0 12px;color:#555;font-size:13px}}
.grid{{display:grid;grid-template-columns:repeat(24,1fr);grid-auto-rows:34px;gap:6px;width:1560px}}
section{{background:#fff;border:1px solid #ddd;border-radius:3px;padding:6px 8px;overflow:hidden}}
h2{{margin:0;font-size:16px;align-self:end;border-bottom:2px solid #5794f2}}
h3{{margin:0 0 4px;font-size:13px}} .body{{font-size:12px}}
table{{border-collapse:collapse;width:100%}} th,td{{border-bottom:1px solid #eee;padding:2px 4px;text-align:left;vertical-align:top}}
th{{background:#f0f2f4}} td{{max-width:420px}}
.stat{{display:inline-block;margin:2px 8px 2px 0;padding:4px 10px;border-radius:3px}} .stat strong{{font-size:18px}}
.stat small{{display:block}} .gauge{{display:flex;align-items:center;gap:6px;margin:3px 0}}
.gauge span{{width:38%;}} .gauge b{{height:14px;display:block}} .none{{color:#777}}
.key{{margin-right:10px}} .key i{{display:inline-block;width:10px;height:10px;margin-right:3px}}
svg text{{font-size:11px}} svg .tick{{font-size:10px}}
</style><body><header><h1>{html.escape(board["title"])}</h1><p>{html.escape(subtitle)}</p></header>
<div class="grid">{"".join(cards)}</div></body></html>"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, demo_deployment(Path(folder)) as deployment:
        board = dashboards.board("committee.json")
        values, offered = dashboards.default_values(board, deployment.query)
        views = {
            p["id"]: dashboards.render(p, deployment.query, values) for p in dashboards.data_panels(board)
        }
        chosen = {
            name: next((o.text for o in options if o.value == values[name]), "全部局處")
            for name, options in offered.items()
        }
        subtitle = (
            f"年度：{chosen['year']}　季別：{chosen['quarter']}　局處：{chosen['bureau']}"
            "（預設為目前報告期別）。資料：示範資料，經真實 Prometheus 查詢；Grafana 未安裝於此機器，此圖由 "
            "tests/deploy/dashboard_screenshots.py 依各面板之查詢與轉換繪出。"
        )
        document = Path(folder) / "committee.html"
        document.write_text(page(board, views, subtitle), encoding="utf-8")
        args.out.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            try:
                tab = browser.new_page(viewport={"width": 1600, "height": 1000})
                tab.goto(document.as_uri())
                tab.screenshot(path=str(args.out / "dashboard-committee.png"), full_page=True)
            finally:
                browser.close()
    print(args.out / "dashboard-committee.png")


if __name__ == "__main__":
    main()
