"""Geometry for the inline SVG charts (bars and histograms); the templates draw them.

Only layout lives here: which bar goes where and how long it is. The values come
from the stored record unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 720
LABEL_WIDTH = 330  # left column for the labels, in the features' words
ROW = 24
TOP = 8
AXIS_GAP = 28  # room under the bars for the axis note
VALUE_ROOM = 56  # room for a printed value (e.g. "-0.134") beside a bar's end


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    protected: bool
    x: float
    y: float
    width: float
    toward_adverse: bool

    @property
    def shown(self) -> str:
        return f"{self.value:+.3f}"


@dataclass(frozen=True)
class BarChart:
    title: str
    caption: str
    bars: tuple[Bar, ...]
    zero_x: float
    width: int
    height: int
    label_width: int


def bar_chart(items: Sequence[tuple[str, float, bool]], *, title: str, caption: str) -> BarChart:
    """Horizontal bars around a zero line: positive (toward the adverse class) right, negative left."""
    left = LABEL_WIDTH + VALUE_ROOM  # room for a negative bar's printed value before it
    plot = WIDTH - left - VALUE_ROOM
    largest = max((abs(v) for _, v, _ in items), default=0.0) or 1.0
    has_negative = any(v < 0 for _, v, _ in items)
    has_positive = any(v > 0 for _, v, _ in items)
    if has_negative and has_positive:
        zero = left + plot / 2
        scale = plot / 2 / largest
    elif has_negative:
        zero = left + plot
        scale = plot / largest
    else:
        zero = left
        scale = plot / largest
    bars = []
    for i, (label, value, protected) in enumerate(items):
        length = abs(value) * scale
        bars.append(Bar(label=label, value=value, protected=protected, x=zero if value >= 0 else zero - length,
                        y=TOP + i * ROW, width=max(length, 1.0), toward_adverse=value > 0))
    return BarChart(title=title, caption=caption, bars=tuple(bars), zero_x=zero, width=WIDTH,
                    height=TOP + len(items) * ROW + AXIS_GAP, label_width=LABEL_WIDTH)


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    count: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Histogram:
    title: str
    bins: tuple[Bin, ...]
    total: int
    width: int
    height: int
    base_y: float


def histogram(values: Sequence[float], *, title: str, low: float = 0.0, high: float = 1.0,
              bins: int = 10) -> Histogram:
    """Counts of ``values`` in ``bins`` equal bins over [low, high] (values outside are clamped)."""
    width, height, base = 340, 150, 120.0
    counts = [0] * bins
    for value in values:
        share = (min(max(value, low), high) - low) / (high - low)
        counts[min(int(share * bins), bins - 1)] += 1
    tallest = max(counts, default=0) or 1
    step = (width - 20) / bins
    out = tuple(Bin(low=low + i * (high - low) / bins, high=low + (i + 1) * (high - low) / bins, count=c,
                    x=10 + i * step, y=base - (base - 10) * c / tallest, width=step - 2,
                    height=(base - 10) * c / tallest) for i, c in enumerate(counts))
    return Histogram(title=title, bins=out, total=len(values), width=width, height=height, base_y=base)
