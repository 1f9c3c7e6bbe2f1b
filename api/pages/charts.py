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
    anchor: str = "middle"

    @property
    def label_y(self) -> int:
        return 62 + 13 * self.row


@dataclass(frozen=True)
class Axis:
    dots: list[Dot]
    years: list[tuple[float, int]]  # tick position and year
    height: int
    undated_from: float = WIDTH  # x where versions without a date begin


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


def _positions(versions: list[VersionView]) -> tuple[list[float], list[tuple[float, int]], float]:
    """x of each version, year ticks, and where the undated tail starts (WIDTH if none).

    Dated versions spread over the axis by date; undated ones (a draft the manifest gives no
    date for) follow in order in a tail after the last dated one, marked off on the chart."""
    dated = [v.published for v in versions if v.published is not None]
    undated = sum(1 for v in versions if v.published is None)
    usable = WIDTH - 2 * PAD
    if not dated or (len(dated) == 1 and undated == 0):
        step = usable / max(1, len(versions) - 1)
        xs = [PAD + (step * i if len(versions) > 1 else usable / 2) for i in range(len(versions))]
        return xs, [], float(WIDTH)
    tail = min(0.3, 0.08 * undated) * usable if undated else 0.0
    span = usable - tail
    first, last = min(dated), max(dated)
    days = max(1, (last - first).days)
    xs, seen = [], 0
    for v in versions:
        if v.published is not None:
            xs.append(PAD + span * (v.published - first).days / days)
        else:
            seen += 1
            xs.append(PAD + span + tail * seen / undated)
    years = [
        (round(PAD + span * (date(y, 1, 1) - first).days / days, 1), y)
        for y in range(first.year + 1, last.year + 1)
    ]
    return xs, years, (PAD + span + tail / (2 * undated)) if undated else float(WIDTH)


def dots(versions: list[VersionView]) -> Axis:
    """Versions on a time axis, each label on the first line where it does not overlap the
    previous one (anchored inwards at the edges), with year ticks."""
    if not versions:
        return Axis([], [], DOTS_HEIGHT)
    xs, years, tail = _positions(versions)
    out: list[Dot] = []
    ends: list[float] = []  # right end of the last label on each line
    for x, v in zip(xs, versions, strict=True):
        width = 6.0 * len(v.label) + 8  # about 6 px a character at font size 10
        anchor = "start" if x - width / 2 < 0 else "end" if x + width / 2 > WIDTH else "middle"
        left = x if anchor == "start" else x - width if anchor == "end" else x - width / 2
        row = next((r for r, end in enumerate(ends) if left > end), len(ends))
        if row == len(ends):
            ends.append(-1.0)
        ends[row] = left + width
        out.append(Dot(round(x, 1), v.label, v.status, v.published, v.is_draft, row, anchor))
    return Axis(out, years, 62 + 13 * len(ends) + 8, round(tail, 1))


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
