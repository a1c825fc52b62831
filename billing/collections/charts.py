"""KPI charts drawn server-side by matplotlib: accessible SVG for pages and PDFs, PNG for email.

A chart is a KPI's value over the last periods of the same length (oldest first,
the current period highlighted). The SVG carries ``role="img"``, an
``aria-label`` and a ``<title>`` (matplotlib's, from the metadata) saying what it shows in words (the page and the
PDF also print the same numbers as a table); its text stays text (not paths), so
a PDF made from it can be searched. Ids inside each SVG are prefixed so several
charts can sit in one page. No pyplot: a ``Figure`` of its own per chart, safe
in threads and workers.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from html import escape

from django.utils import translation
from matplotlib import rc_context
from matplotlib.figure import Figure

from billing.collections.kpis import KpiTrend, display

CURRENT, EARLIER = "#1f4e79", "#9db7d5"
# Drawing is the slow part of a KPI page (a tenth of a second a chart): the same figures draw the same chart, so
# the last few hundred are kept (a chart is a few kB; the key is every drawn value, nothing can go stale).
CACHED_CHARTS = 512
_ID = re.compile(r'(id="|href="#|url\(#)([^")]+)')
_REF = re.compile(r'(?:href="#|url\(#)([^")]+)')
_ID_ATTR = re.compile(r' id="([^"]+)"')


@dataclass(frozen=True)
class ChartData:
    key: str
    title: str
    labels: tuple[str, ...]
    values: tuple[float | None, ...]
    unit: str
    language: str = "en"  # the labels' language: part of what is drawn, so of the cache key

    @property
    def description(self) -> str:
        points = ", ".join(
            f"{label}: {display(value, self.unit)}" for label, value in zip(self.labels, self.values, strict=True)
        )
        return f"{self.title}. {points}"


def chart_data(trend: KpiTrend) -> ChartData:
    labels = [f"{scope.start:%d %b} - {scope.end:%d %b}" for scope, _value in trend.periods]
    return ChartData(
        key=trend.kpi.key,
        title=trend.kpi.name,
        labels=tuple(labels),
        values=tuple(value for _scope, value in trend.periods),
        unit=trend.kpi.unit,
        language=translation.get_language() or "en",
    )


def _figure(data: ChartData) -> Figure:
    figure = Figure(figsize=(6.0, 2.4), dpi=100)
    figure.subplots_adjust(left=0.08, right=0.98, top=0.86, bottom=0.14)  # fixed: a layout engine costs more
    axes = figure.add_subplot()
    heights = [value or 0.0 for value in data.values]
    colours = [EARLIER] * (len(heights) - 1) + [CURRENT]
    bars = axes.bar(range(len(heights)), heights, color=colours)
    axes.bar_label(bars, labels=[display(v, data.unit) for v in data.values], fontsize=7, padding=2)
    axes.set_xticks(range(len(heights)), data.labels, fontsize=7)
    axes.yaxis.set_visible(False)  # each bar carries its value: an axis would repeat it (and cost the PDF time)
    axes.set_title(data.title, fontsize=9, loc="left")
    axes.spines[["top", "right", "left"]].set_visible(False)
    axes.margins(y=0.2)
    return figure


@lru_cache(maxsize=CACHED_CHARTS)
def chart_svg(data: ChartData) -> str:
    """The chart as an inline ``<svg>`` element (no XML prolog), labelled for assistive technology."""
    out = io.StringIO()
    # Text as text (searchable in the PDF) and stable ids (the same chart draws the same SVG).
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "portico"}):
        _figure(data).savefig(out, format="svg", metadata={"Date": None, "Title": data.description})
    svg = out.getvalue()
    svg = svg[svg.index("<svg") :]
    # Keep only the ids something points at (clip paths, glyphs), prefixed so charts in one page do not clash.
    used = set(_REF.findall(svg))
    svg = _ID_ATTR.sub(lambda m: m.group(0) if m.group(1) in used else "", svg)
    svg = _ID.sub(lambda m: f"{m.group(1)}{data.key}-{m.group(2)}", svg)
    label = escape(data.description, quote=True)
    # matplotlib writes the metadata's Title as the SVG's <title>.
    return svg.replace("<svg ", f'<svg role="img" aria-label="{label}" data-chart="{data.key}" ', 1)


def chart_svg_uri(data: ChartData) -> str:
    """The SVG as a ``data:`` address, for WeasyPrint: drawn by its SVG renderer (text stays text in the PDF)
    rather than read as HTML, whose CSS parser does not know SVG's style properties."""
    return "data:image/svg+xml;base64," + base64.b64encode(chart_svg(data).encode()).decode()


@lru_cache(maxsize=CACHED_CHARTS)
def chart_png(data: ChartData) -> bytes:
    """The chart as a PNG (for email clients, which do not show inline SVG)."""
    out = io.BytesIO()
    _figure(data).savefig(out, format="png", dpi=96, metadata={"Software": None})
    return out.getvalue()
