"""Tables in PDF text: cells side by side on a line, wrapped independently.

pypdf's layout mode prints a two-column table row as "Developers      Any organization
that ..." and the wrapped rest of each cell on the lines below, under its own column. Read as
running text the cells interleave ("System Any organization Operators that creates ...").
:func:`fold_two_columns` finds such blocks by the gap of four or more spaces at a steady
position and turns every row into one line, "left: right". :func:`split_at` cuts a laid-out
line at known column starts, for tables whose header row says where the columns are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from tracker.sources.parsing.pdf_text import Line, join_lines
from tracker.sources.parsing.provisions import clean

_GAP = re.compile(r"\S( {4,})(?=\S)")
_LEFT_MAX = 40  # characters: a first column wider than this is a paragraph, not a label
_SLACK = 2


def split_at(raw: str, starts: Sequence[int]) -> list[str]:
    """The cells of a laid-out line, cut at the column start positions ``starts``.

    Positions drift by a character or two from page to page, so a word that starts just
    before a boundary belongs to the column after it; a word that starts well before it and
    reaches across (a cell wider than its header) is kept whole in the column where it begins."""
    cells: list[str] = []
    begin = 0
    for start in starts:
        cut = max(start, begin)
        if 0 < cut < len(raw) and raw[cut - 1] != " " and raw[cut] != " ":
            word = cut
            while word > begin and raw[word - 1] != " ":
                word -= 1
            if cut - word <= _SLACK:
                cut = word
            else:
                while cut < len(raw) and raw[cut] != " ":
                    cut += 1
        cells.append(clean(raw[begin:cut]))
        begin = cut
    cells.append(clean(raw[begin:]))
    return cells


def _column(line: Line) -> int | None:
    """Where the second column starts on a two-column line, else None."""
    gap = _GAP.search(line.raw)
    if gap is None or gap.start(1) - line.indent > _LEFT_MAX:
        return None
    return gap.end(1)


def fold_two_columns(
    lines: list[Line], words: frozenset[str], excluded: Callable[[str], bool] = lambda _: False
) -> list[Line]:
    """``lines`` with every two-column block replaced by one line per row, each between
    blank lines. ``excluded`` names lines that are never table rows even with a wide gap
    (a heading "5.1<tab>Title", a "NOTE:" label and its text)."""
    out: list[Line] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        col = _column(line) if line.text and not excluded(line.text) else None
        if col is None:
            out.append(line)
            i += 1
            continue
        rows, i = _rows(lines, i, col, excluded)
        for left, right in rows:
            lead = join_lines(left, words)
            lead = lead if lead.endswith(":") else lead + ":"
            text = f"{lead} {join_lines(right, words)}"
            out += [Line("", 0, "", line.page), Line(text, 0, text, line.page), Line("", 0, "", line.page)]
    return out


def _kind(line: Line, col: int, excluded: Callable[[str], bool]) -> str:
    """ "both", "right", "left", "blank" or "out" (not part of the table)."""
    if not line.text:
        return "blank"
    if excluded(line.text):
        return "out"
    here = _column(line)
    if here is not None and abs(here - col) <= _SLACK:
        return "both"
    if line.indent >= col - _SLACK:
        return "right"
    if len(line.raw.rstrip()) < col - _SLACK:
        return "left"
    return "out"


def _rows(
    lines: list[Line], i: int, col: int, excluded: Callable[[str], bool]
) -> tuple[list[tuple[list[str], list[str]]], int]:
    rows: list[tuple[list[str], list[str]]] = []
    prev = "blank"
    while i < len(lines):
        line = lines[i]
        kind = _kind(line, col, excluded)
        if kind in ("blank", "left"):
            ahead = next((lines[k] for k in range(i + 1, len(lines)) if lines[k].text), None)
            if ahead is None or _kind(ahead, col, excluded) not in ("both", "right"):
                break  # the table ended; this line belongs to what follows
            if kind == "left" and rows:
                rows[-1][0].append(line.text)
        elif kind == "both":
            left, right = clean(line.raw[:col]), clean(line.raw[col:])
            # a new row unless both cells read on: the right one mid-sentence, in lower case
            ended = not rows or rows[-1][1][-1].endswith((".", ";", ":")) or not right[:1].islower()
            if ended or prev in ("blank", "right"):
                rows.append(([left], [right]))
            else:
                rows[-1][0].append(left)
                rows[-1][1].append(right)
        elif kind == "right" and rows:
            rows[-1][1].append(line.text)
        else:
            break
        prev = kind
        i += 1
    return rows, i
