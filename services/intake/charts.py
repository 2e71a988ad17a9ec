"""The quarterly report's charts: SVG drawn on the server by matplotlib, inlined in the page.

Text stays text (`svg.fonttype: none`), so the browser draws the Chinese labels with its own fonts
and a printed PDF keeps them searchable. Only matplotlib's object API is used (no pyplot): each
chart is a Figure of its own, so requests drawn in parallel threads share no state.
"""

from __future__ import annotations

import logging
import re
import warnings
from io import StringIO

import matplotlib
from matplotlib.figure import Figure

from services.intake.quarterly_report import IndicatorLine, TrendLine
from shared.periods import roc_year

matplotlib.use("svg")
matplotlib.rcParams.update(
    {
        "svg.fonttype": "none",
        "svg.hashsalt": "dgbv",  # the same figures give the same SVG (ids of clip paths)
        # Measured with a CJK font where there is one; drawn by the browser with the page's fonts.
        "font.family": ["Noto Sans CJK TC", "Noto Sans CJK JP", "Noto Sans TC", "DejaVu Sans"],
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)
# Without a CJK font installed, matplotlib measures the labels with another and says so per glyph.
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)

# Colours that stay apart in greyscale print too.
BASELINE, ACTUAL, TARGET = "#b8c4d6", "#1f4e8c", "#c0392b"
SERIES = ("#1f4e8c", "#c0392b", "#2e7d32")


_STYLE_ATTRIBUTE = re.compile(r' style="([^"]*)"')


def _as_attributes(match: re.Match) -> str:
    """style="fill: #fff; stroke-width: 0.8" -> fill="#fff" stroke-width="0.8"."""
    pairs = (part.split(":", 1) for part in match.group(1).split(";") if ":" in part)
    return "".join(f' {name.strip()}="{value.strip()}"' for name, value in pairs)


def _svg(figure: Figure, title: str) -> str:
    """The figure as an inline <svg> with an accessible name.

    The pages' Content-Security-Policy allows no inline styles, so matplotlib's style attributes
    become SVG presentation attributes (every property it writes has one) and its <style> rule
    moves to style.css; the XML prologue and the metadata are dropped.
    """
    buffer = StringIO()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"\s*<metadata>.*?</metadata>|\s*<style[^>]*>.*?</style>", "", svg, flags=re.S)
    svg = _STYLE_ATTRIBUTE.sub(_as_attributes, svg)
    # Several charts share a page: only the ids a chart refers to (hashed by content) stay.
    referred = set(re.findall(r"#([\w-]+)", svg))
    svg = re.sub(r' id="([\w-]+)"', lambda m: m.group(0) if m.group(1) in referred else "", svg)
    label = title.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return re.sub(r"^<svg ", f'<svg role="img" aria-label="{label}" class="chart" ', svg, count=1)


def indicator_chart(lines: list[IndicatorLine], year_text: str) -> str:
    """Each indicator's quarterly counts beside its baseline year's and the seasonal target."""
    figure = Figure(figsize=(9, 2.9))
    axes = figure.subplots(1, max(1, len(lines)), squeeze=False)[0]
    for ax, line in zip(axes, lines, strict=False):
        labels = [label for label, *_ in line.quarters]
        positions = range(len(labels))
        ax.bar(
            [p - 0.2 for p in positions],
            [baseline or 0 for _, _, baseline, _ in line.quarters],
            width=0.4,
            color=BASELINE,
            label=f"基準年（{line.baseline_label}）",
        )
        ax.bar(
            [p + 0.2 for p in positions],
            [count or 0 for _, count, _, _ in line.quarters],
            width=0.4,
            color=ACTUAL,
            label=year_text,
        )
        targets = [
            (p, target) for p, (_, _, _, target) in zip(positions, line.quarters, strict=True) if target
        ]
        if targets:
            ax.scatter(
                [p + 0.2 for p, _ in targets],
                [t for _, t in targets],
                marker="_",
                s=400,
                linewidths=2,
                color=TARGET,
                label="季目標",
                zorder=3,
            )
        ax.set_xticks(list(positions), labels)
        ax.set_title(_wrap(line.name, 14), fontsize=9)
        ax.set_ylabel("人")
    handles, names = axes[0].get_legend_handles_labels()
    figure.legend(handles, names, loc="lower center", ncols=3, frameon=False, bbox_to_anchor=(0.5, -0.06))
    figure.tight_layout(rect=(0, 0.06, 1, 1))
    return _svg(figure, f"{year_text}三項成效指標各季人數與季目標")


def trend_chart(lines: list[TrendLine]) -> str:
    """The indicators' yearly counts over the years (ROC years)."""
    figure = Figure(figsize=(9, 3))
    ax = figure.subplots()
    for colour, line in zip(SERIES * 3, lines, strict=False):
        known = [(year, count) for year, count in line.years if count is not None]
        ax.plot(
            [roc_year(year) for year, _ in known],
            [count for _, count in known],
            marker="o",
            color=colour,
            label=line.name,
        )
    years = sorted({year for line in lines for year, _ in line.years})
    ax.set_xticks([roc_year(year) for year in years], [f"{roc_year(year)}年" for year in years])
    ax.set_ylabel("人")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", frameon=False, fontsize=8)
    figure.tight_layout()
    return _svg(figure, "三項成效指標歷年人數")


def compliance_chart(history: list[tuple[str, float | None, float | None]]) -> str:
    """Completeness and timeliness of the last quarters, in percent."""
    figure = Figure(figsize=(9, 2.6))
    ax = figure.subplots()
    labels = [label for label, _, _ in history]
    positions = range(len(labels))
    ax.bar(
        [p - 0.2 for p in positions], [c or 0 for _, c, _ in history], width=0.4, color=ACTUAL, label="繳交率"
    )
    ax.bar(
        [p + 0.2 for p in positions],
        [t or 0 for _, _, t in history],
        width=0.4,
        color=BASELINE,
        label="準時率",
    )
    ax.set_xticks(list(positions), [label.replace("年", "年\n") for label in labels])
    ax.set_ylim(0, 100)
    ax.set_ylabel("%")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False, ncols=2)
    figure.tight_layout()
    return _svg(figure, "各季季報繳交率與準時率")


def _wrap(text: str, width: int) -> str:
    """A long Chinese title on lines of `width` characters."""
    return "\n".join(text[i : i + width] for i in range(0, len(text), width))
