"""The report's charts: Vega-Lite specifications built with Altair, rendered to SVG at build time by
vl-convert (no JavaScript, no network, no font download: the SVG names the generic ``sans-serif``).

Each function takes the rows its chart's table shows (already in words) and returns the SVG text.
"""

from __future__ import annotations

import html

import altair as alt
import vl_convert

WIDTH = 520
ROW_HEIGHT = 18
COVERAGE_STATUSES = ["official data", "national official data only", "civil-society or citizen data only", "no data"]
COVERAGE_COLOURS = ["#1b6ca8", "#5fa8d3", "#e8a33d", "#d9d9d9"]


def render(chart: alt.TopLevelMixin, title: str) -> str:
    """SVG text, with the chart's title as its accessible name."""
    svg = vl_convert.vegalite_to_svg(chart.to_dict())
    return svg.replace("<svg ", f'<svg role="img" aria-label="{html.escape(title, quote=True)}" ', 1)


def _height(records: list[dict], key: str = "label") -> int:
    return max(60, ROW_HEIGHT * len({r[key] for r in records}))


def gaps_chart(records: list[dict], title: str) -> str:
    """A dot for the group, a dot for its reference group, a line between: the longer, the wider the gap."""
    points = [{"label": r["label"], "who": who, "value": r[field]}
              for r in records for who, field in (("group", "group_value"), ("reference group", "reference_value"))]
    y = alt.Y("label:N", sort=None, title=None, axis=alt.Axis(labelLimit=320))
    rules = alt.Chart(alt.Data(values=records)).mark_rule(color="#888").encode(
        y=y, x=alt.X("group_value:Q", title="value"), x2="reference_value:Q")
    dots = alt.Chart(alt.Data(values=points)).mark_circle(size=70, opacity=1).encode(
        y=y, x="value:Q",
        color=alt.Color("who:N", scale=alt.Scale(domain=["group", "reference group"], range=["#c0392b", "#1b6ca8"]),
                        legend=alt.Legend(title=None, orient="top")))
    return render((rules + dots).properties(width=WIDTH, height=_height(records)), title)


def intersections_chart(records: list[dict], title: str) -> str:
    """The gap (group minus reference) for one dimension alone and with other dimensions crossed."""
    chart = alt.Chart(alt.Data(values=records)).mark_bar().encode(
        y=alt.Y("label:N", sort=None, title=None, axis=alt.Axis(labelLimit=320)),
        x=alt.X("difference:Q", title="group minus reference group"),
        color=alt.Color("depth:N", scale=alt.Scale(domain=["one dimension", "two or more dimensions"],
                                                   range=["#1b6ca8", "#c0392b"]),
                        legend=alt.Legend(title=None, orient="top")))
    return render(chart.properties(width=WIDTH, height=_height(records)), title)


def sources_chart(records: list[dict], title: str) -> str:
    """Official (dark) and civil-society or citizen (orange) values, with the grey band of the unit's
    threshold around the official value: a dot outside the band differs by more than the threshold."""
    y = alt.Y("label:N", sort=None, title=None, axis=alt.Axis(labelLimit=320))
    banded = [r for r in records if r["band_low"] is not None]
    band = alt.Chart(alt.Data(values=banded)).mark_rule(color="#d9d9d9", strokeWidth=12).encode(
        y=y, x=alt.X("band_low:Q", title="value"), x2="band_high:Q")
    points = [{"label": r["label"], "source": who, "value": r[field]}
              for r in records for who, field in (("official", "official_value"),
                                                  ("civil society or citizens", "non_official_value"))]
    dots = alt.Chart(alt.Data(values=points)).mark_point(size=80, filled=True, opacity=1).encode(
        y=y, x="value:Q",
        color=alt.Color("source:N", scale=alt.Scale(domain=["official", "civil society or citizens"],
                                                    range=["#1f2d3d", "#e8a33d"]),
                        legend=alt.Legend(title=None, orient="top")),
        shape=alt.Shape("source:N", legend=None))
    layers = (band + dots) if banded else dots
    return render(layers.properties(width=WIDTH, height=_height(records)), title)


def coverage_chart(records: list[dict], title: str) -> str:
    """Population groups (rows) x indicators (columns), coloured by what data exists."""
    chart = alt.Chart(alt.Data(values=records)).mark_rect(stroke="white").encode(
        y=alt.Y("population_group:N", title=None, axis=alt.Axis(labelLimit=240)),
        x=alt.X("indicator:N", title=None, axis=alt.Axis(labelAngle=-60, labelLimit=200)),
        color=alt.Color("status:N", scale=alt.Scale(domain=COVERAGE_STATUSES, range=COVERAGE_COLOURS),
                        legend=alt.Legend(title=None, orient="top")))
    return render(chart.properties(width=max(300, 28 * len({r["indicator"] for r in records})),
                                   height=_height(records, "population_group") + 20), title)
