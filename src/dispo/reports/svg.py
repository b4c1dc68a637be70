"""Small inline-SVG charts for report.html: no JavaScript, no network, no dependencies.

Each function takes already-aggregated numbers (a handful of bars or bins: the data was reduced in
Polars) and returns ``markupsafe.Markup`` that Jinja2 inserts as is. Every label that came from
data (property ids, state codes, option names) is escaped here, so user text can never become
markup; numbers are formatted by the caller's ``fmt``. Hovering a bar shows its exact value (the
SVG ``<title>`` element). Colours carry no meaning that the text does not also say.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

from markupsafe import Markup, escape

Fmt = Callable[[float], str]

BLUE, GREEN, RED, GREY, INK = "#2f6690", "#2a7d4f", "#b23a3a", "#c9d3dd", "#1f2933"
PALETTE = (BLUE, "#d98b2b", GREEN, "#7d5ba6", RED, "#3a9ca6")
FONT = 'font-family="system-ui,-apple-system,Segoe UI,Roboto,sans-serif" font-size="12"'


def _num(x: float) -> str:
    """A coordinate: short, finite."""
    return f"{x:.1f}" if math.isfinite(x) else "0"


def _svg(width: float, height: float, body: list[str], label: str) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_num(width)} {_num(height)}" '
        f'width="100%" style="max-width:{_num(width)}px" role="img" aria-label="{escape(label)}" {FONT}>'
        f'<title>{escape(label)}</title>' + "".join(body) + "</svg>"
    )


def _empty(label: str, width: float = 560) -> Markup:
    return _svg(width, 40, [f'<text x="8" y="24" fill="{INK}">no data</text>'], label)


def hbar_chart(items: Sequence[tuple[str, float]], *, fmt: Fmt, label: str, color: str = BLUE,
               width: float = 560, bar: float = 18) -> Markup:
    """Horizontal bars, one per (label, value), in the order given; negative values extend left
    of the axis (and are red)."""
    if not items:
        return _empty(label, width)
    label_w = min(180.0, 12 + 7.2 * max(len(str(k)) for k, _ in items))
    value_w = 110.0
    plot_w = max(60.0, width - label_w - value_w)
    values = [v if v is not None and math.isfinite(v) else 0.0 for _, v in items]
    lo, hi = min(0.0, *values), max(0.0, *values)
    span = (hi - lo) or 1.0
    zero = label_w + plot_w * (-lo / span)
    height = 8 + len(items) * (bar + 6) + 4
    body = [f'<line x1="{_num(zero)}" y1="4" x2="{_num(zero)}" y2="{_num(height - 4)}" stroke="{GREY}"/>']
    for i, ((name, _), v) in enumerate(zip(items, values)):
        y = 8 + i * (bar + 6)
        x0 = zero + plot_w * (min(v, 0.0) / span)
        w = plot_w * abs(v) / span
        fill = RED if v < 0 else color
        text = escape(str(name))
        body.append(
            f'<text x="{_num(label_w - 6)}" y="{_num(y + bar * 0.72)}" text-anchor="end" fill="{INK}">{text}</text>'
            f'<rect x="{_num(x0)}" y="{_num(y)}" width="{_num(max(w, 0.5))}" height="{_num(bar)}" fill="{fill}">'
            f'<title>{text}: {escape(fmt(v))}</title></rect>'
            f'<text x="{_num(label_w + plot_w + 6)}" y="{_num(y + bar * 0.72)}" fill="{INK}">{escape(fmt(v))}</text>'
        )
    return _svg(width, height, body, label)


def histogram(bins: Sequence[tuple[float, float, int]], *, fmt: Fmt, label: str, color: str = BLUE,
              width: float = 560, height: float = 200, open_ends: tuple[bool, bool] = (False, False)) -> Markup:
    """Columns of counts over consecutive bins (lo, hi, count). ``open_ends`` marks a first/last
    bin that also holds everything below/above it (outliers clipped into it)."""
    if not bins or not any(n for _, _, n in bins):
        return _empty(label, width)
    left, bottom, top = 48.0, 34.0, 10.0
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max(n for _, _, n in bins) or 1
    step = plot_w / len(bins)
    body = [f'<line x1="{_num(left)}" y1="{_num(top + plot_h)}" x2="{_num(left + plot_w)}" '
            f'y2="{_num(top + plot_h)}" stroke="{GREY}"/>',
            f'<text x="{_num(left - 6)}" y="{_num(top + 10)}" text-anchor="end" fill="{INK}">{peak:,}</text>',
            f'<text x="{_num(left - 6)}" y="{_num(top + plot_h)}" text-anchor="end" fill="{INK}">0</text>']
    for i, (lo, hi, n) in enumerate(bins):
        h = plot_h * n / peak
        x = left + i * step
        lo_text = ("≤ " if i == 0 and open_ends[0] else "") + fmt(lo)
        hi_text = ("≥ " if i == len(bins) - 1 and open_ends[1] else "") + fmt(hi)
        tip = escape(f"{lo_text} to {hi_text}: {n:,}")
        body.append(f'<rect x="{_num(x + 1)}" y="{_num(top + plot_h - h)}" width="{_num(max(step - 2, 1))}" '
                    f'height="{_num(h)}" fill="{color}"><title>{tip}</title></rect>')
    first_lo, last_hi = bins[0][0], bins[-1][1]
    body.append(f'<text x="{_num(left)}" y="{_num(height - 12)}" fill="{INK}">'
                f'{escape(("≤ " if open_ends[0] else "") + fmt(first_lo))}</text>')
    body.append(f'<text x="{_num(left + plot_w)}" y="{_num(height - 12)}" text-anchor="end" fill="{INK}">'
                f'{escape(("≥ " if open_ends[1] else "") + fmt(last_hi))}</text>')
    return _svg(width, height, body, label)


def grouped_bars(categories: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *, fmt: Fmt,
                 label: str, width: float = 560, height: float = 230) -> Markup:
    """Vertical bars: one group per category, one bar per series, with a legend."""
    if not categories or not series:
        return _empty(label, width)
    values = [v if v is not None and math.isfinite(v) else 0.0 for _, vs in series for v in vs]
    hi = max(0.0, *values) or 1.0
    lo = min(0.0, *values)
    span = hi - lo or 1.0
    left, bottom, top = 12.0, 48.0, 26.0
    plot_w, plot_h = width - left - 12, height - bottom - top
    zero_y = top + plot_h * hi / span
    group_w = plot_w / len(categories)
    bar_w = max(4.0, (group_w - 16) / len(series))
    body = [f'<line x1="{_num(left)}" y1="{_num(zero_y)}" x2="{_num(left + plot_w)}" y2="{_num(zero_y)}" '
            f'stroke="{GREY}"/>']
    for s, (name, _) in enumerate(series):
        lx = left + s * 170
        body.append(f'<rect x="{_num(lx)}" y="6" width="12" height="12" fill="{PALETTE[s % len(PALETTE)]}"/>'
                    f'<text x="{_num(lx + 16)}" y="16" fill="{INK}">{escape(name)}</text>')
    for c, cat in enumerate(categories):
        gx = left + c * group_w + 8
        for s, (name, vs) in enumerate(series):
            v = vs[c] if c < len(vs) and vs[c] is not None and math.isfinite(vs[c]) else 0.0
            h = plot_h * abs(v) / span
            y = zero_y - h if v >= 0 else zero_y
            tip = escape(f"{cat} · {name}: {fmt(v)}")
            body.append(f'<rect x="{_num(gx + s * bar_w)}" y="{_num(y)}" width="{_num(bar_w - 2)}" '
                        f'height="{_num(max(h, 0.5))}" fill="{PALETTE[s % len(PALETTE)]}"><title>{tip}</title></rect>')
        body.append(f'<text x="{_num(left + c * group_w + group_w / 2)}" y="{_num(height - bottom + 18)}" '
                    f'text-anchor="middle" fill="{INK}">{escape(cat)}</text>')
    return _svg(width, height, body, label)


def split_bar(parts: Sequence[tuple[str, int]], *, label: str, width: float = 560) -> Markup:
    """One horizontal bar cut into parts (e.g. sell vs hold), each with its count and share."""
    total = sum(n for _, n in parts)
    if not total:
        return _empty(label, width)
    body, x, lx, ly = [], 0.0, 0.0, 50.0
    for i, (name, n) in enumerate(parts):
        w = width * n / total
        color = PALETTE[i % len(PALETTE)]
        words = f"{name}: {n:,} ({n / total:.1%})"
        text = escape(words)
        body.append(f'<rect x="{_num(x)}" y="4" width="{_num(w)}" height="26" fill="{color}"><title>{text}</title></rect>')
        legend_w = 16 + 7.0 * len(words) + 14
        if lx and lx + legend_w > width:  # next legend line
            lx, ly = 0.0, ly + 18
        body.append(f'<rect x="{_num(lx)}" y="{_num(ly - 10)}" width="12" height="12" fill="{color}"/>'
                    f'<text x="{_num(lx + 16)}" y="{_num(ly)}" fill="{INK}">{text}</text>')
        lx += legend_w
        x += w
    return _svg(width, ly + 10, body, label)
