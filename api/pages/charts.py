"""Geometry of the timeline's two small SVG charts, computed here and drawn by the template.

No chart library and no script: the template writes ``<circle>``/``<rect>`` elements from
these numbers, each with a ``<title>``, and the same figures follow in a data table, so the
charts add a picture without being the only way to read the data. Bars are linear in the
number of changed requirements (unchanged ones are not drawn); a step with a handful of
changes still gets a visible sliver.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from api.pages.data import CHANGED_KINDS, Step, VersionView

WIDTH = 720
DOTS_HEIGHT = 110
BARS_HEIGHT = 200
PAD = 40
# Fill colours with at least 3:1 contrast against white (WCAG 1.4.11, graphical objects).
COLOURS = {
    "added": "#1b7f3b",
    "removed": "#b42318",
    "moved": "#1d4ed8",
    "split": "#7c3aed",
    "merged": "#a15c07",
    "modified": "#475467",
}


@dataclass(frozen=True)
class Dot:
    x: float
    label: str
    status: str
    published: date | None
    draft: bool
    row: int = 0  # label line, so that close versions' labels do not overlap

    @property
    def label_y(self) -> int:
        return 62 + 13 * self.row


@dataclass(frozen=True)
class Axis:
    dots: list[Dot]
    years: list[tuple[float, int]]  # tick position and year
    height: int


@dataclass(frozen=True)
class Segment:
    kind: str
    y: float
    height: float
    count: int
    colour: str


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    label: str
    old: str
    new: str
    total: int
    diffed: bool
    segments: tuple[Segment, ...]


def dots(versions: list[VersionView]) -> Axis:
    """Versions placed on a time axis by publication date (by order where dates are missing),
    each label on the first line where it does not overlap the previous one, and year ticks."""
    if not versions:
        return Axis([], [], DOTS_HEIGHT)
    dated = [v.published for v in versions if v.published is not None]
    first = min(dated) if dated else None
    span_days = (max(dated) - min(dated)).days if len(dated) > 1 else 0
    usable = WIDTH - 2 * PAD
    out: list[Dot] = []
    ends: list[float] = []  # right end of the last label on each line
    for i, v in enumerate(versions):
        if span_days and first is not None and v.published is not None:
            x = PAD + usable * (v.published - first).days / span_days
        else:
            x = PAD + (usable * i / (len(versions) - 1) if len(versions) > 1 else usable / 2)
        half = 3.0 * len(v.label) + 4  # about 6 px a character at font size 10
        row = next((r for r, end in enumerate(ends) if x - half > end), len(ends))
        if row == len(ends):
            ends.append(0.0)
        ends[row] = x + half
        out.append(Dot(round(x, 1), v.label, v.status, v.published, v.is_draft, row))
    years: list[tuple[float, int]] = []
    if span_days and first is not None:
        for year in range(first.year + 1, max(dated).year + 1):
            x = PAD + usable * (date(year, 1, 1) - first).days / span_days
            years.append((round(x, 1), year))
    return Axis(out, years, 62 + 13 * len(ends) + 8)


def bars(steps: list[Step]) -> tuple[list[Bar], int]:
    """One stacked bar per step (consecutive versions), and the largest total drawn."""
    if not steps:
        return [], 0
    totals = [sum(s.diff.summary.get(k, 0) for k in CHANGED_KINDS) if s.diff else 0 for s in steps]
    top = max(totals) or 1
    slot = (WIDTH - 2 * PAD) / len(steps)
    width = max(8.0, min(48.0, slot * 0.6))
    chart = BARS_HEIGHT - 2 * PAD
    out = []
    for i, (step, total) in enumerate(zip(steps, totals, strict=True)):
        x = PAD + slot * i + (slot - width) / 2
        segments: list[Segment] = []
        y = float(BARS_HEIGHT - PAD)
        if step.diff is not None:
            for kind in CHANGED_KINDS:
                count = step.diff.summary.get(kind, 0)
                if count:
                    height = max(2.0, chart * count / top)
                    y -= height
                    segments.append(Segment(kind, round(y, 1), round(height, 1), count, COLOURS[kind]))
        out.append(
            Bar(
                round(x, 1),
                round(width, 1),
                f"{step.old.label} → {step.new.label}",
                step.old.label,
                step.new.label,
                total,
                step.diff is not None,
                tuple(segments),
            )
        )
    return out, top
