"""Tiny inline SVG charts (sparklines and bars). Values go through ``Markup.format``, which escapes every
argument, so a label can never inject markup."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup

__all__ = ["bars", "sparkline"]

_SPARK = Markup(
    '<svg class="spark" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="trend, max {top}">'
    '<polygon points="{area}" class="spark-area"/><polyline points="{pts}" class="spark-line"/></svg>'
)
_BAR = Markup(
    '<text x="0" y="{ty}" class="bar-label">{label}</text>'
    '<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="4" class="bar"/>'
    '<text x="{vx}" y="{ty}" class="bar-value">{value}</text>'
)
_BARS = Markup(
    '<svg class="bars" viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="bar chart">{rows}</svg>'
)


def sparkline(values: Sequence[float], *, width: int = 120, height: int = 28) -> Markup:
    vals = [float(v) for v in values] or [0.0]
    top = max(vals) or 1.0
    step = width / max(1, len(vals) - 1)
    pts = " ".join(f"{i * step:.1f},{height - 2 - (v / top) * (height - 4):.1f}" for i, v in enumerate(vals))
    return _SPARK.format(
        w=width, h=height, top=f"{max(vals):g}", area=f"0,{height} {pts} {width},{height}", pts=pts
    )


def bars(data: Mapping[str, float], *, width: int = 360, bar_h: int = 22) -> Markup:
    items = list(data.items())
    if not items:
        return Markup('<p class="muted">No data yet.</p>')
    top = max(v for _, v in items) or 1.0
    label_w = 110
    rows = Markup("")
    for i, (label, v) in enumerate(items):
        y = i * (bar_h + 8)
        w = (width - label_w - 50) * (v / top)
        rows += _BAR.format(
            ty=f"{y + bar_h * 0.7:.1f}",
            label=label,
            x=label_w,
            y=y,
            w=f"{max(w, 1):.1f}",
            h=bar_h,
            vx=f"{label_w + w + 6:.1f}",
            value=f"{v:g}",
        )
    return _BARS.format(w=width, h=len(items) * (bar_h + 8), rows=rows)
