"""The tables of NIST's AI RMF publications, read from laid-out PDF text.

* AI 100-1 prints its Core as one two-column table per function: a category ("GOVERN 1:
  ...") on the left, its subcategories ("GOVERN 1.1: ...") stacked on the right. Both cells
  wrap on their own, so each column is read as a stream and cut at the identifiers. The
  column boundary is where the right column's identifiers start, not where the header
  says, because a header cell may be centred over its column.
* AI 600-1 prints, per subcategory, the outcome as a heading ("GOVERN 1.1: ..."), a
  three-column table ("Action ID", "Suggested Action", "GAI Risks") and an "AI Actor Tasks:"
  line. Columns start where the header row's labels do; a repeated header on a new page
  sets them again. An action runs on until the next action ID, across page breaks.

Identifiers, not layout, decide where an entry starts, so a row broken by a page break or
a cell that wraps more lines than its neighbour joins the right entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tracker.sources.parsing.pdf_columns import split_at
from tracker.sources.parsing.pdf_text import Line

FUNCTIONS = ("GOVERN", "MAP", "MEASURE", "MANAGE")
# AI 600-1 action IDs abbreviate the function: GV-1.1-001 is an action for GOVERN 1.1
ABBREVIATIONS = {"GV": "GOVERN", "MP": "MAP", "MS": "MEASURE", "MG": "MANAGE"}
_FN = "|".join(FUNCTIONS)
CATEGORY = re.compile(rf"^(?P<fn>{_FN})\s+(?P<cat>\d{{1,2}})\s*:\s*(?P<text>.*)$")
SUBCATEGORY = re.compile(rf"^(?P<fn>{_FN})\s+(?P<cat>\d{{1,2}})\.(?P<sub>\d{{1,2}})\s*:\s*(?P<text>.*)$")
ACTION = re.compile(r"^(?P<fn>GV|MP|MS|MG)-(?P<cat>\d{1,2})\.(?P<sub>\d{1,2})-(?P<n>\d{3})$")
_RIGHT_ID = re.compile(rf"\s{{3,}}(?:{_FN})\s+\d{{1,2}}\.\d{{1,2}}\s*:")
_SECTION = re.compile(r"^(?:\d{1,2}(?:\.\d{1,2})*\.?|Appendix\s+[A-Z]\.?|Table\s+\d+:)\s+\S")
_ACTORS = re.compile(r"^AI Actor Tasks\s*:\s*(?P<text>.*)$", re.IGNORECASE)


@dataclass
class Entry:
    """An outcome (category or subcategory) or a suggested action as read, lines unjoined."""

    ident: str
    text: list[str] = field(default_factory=list)
    risks: list[str] = field(default_factory=list)
    actors: list[str] = field(default_factory=list)
    outcome: str = ""  # an action's subcategory ident ("GOVERN 1.1")


def core(lines: list[Line]) -> tuple[list[Entry], list[Entry]]:
    """AI 100-1's categories and subcategories, in the order printed."""
    categories: list[Entry] = []
    subcategories: list[Entry] = []
    col: int | None = None
    for line in lines:
        if not line.text:
            continue
        if col is None:
            found = _RIGHT_ID.search(line.raw)
            if found is None or CATEGORY.match(line.text) is None:
                continue  # the first row of a table opens it: a category beside a subcategory
            col = found.end() - len(found.group().lstrip())
        left, right = split_at(line.raw, [col])
        if _ends_table(line, left, right, col):
            col = None
            continue
        category = CATEGORY.match(left)
        if category:
            categories.append(Entry(f"{category['fn']} {category['cat']}", [category["text"]]))
        elif left and categories and left != "Categories":
            categories[-1].text.append(left)
        sub = SUBCATEGORY.match(right)
        if sub:
            subcategories.append(Entry(f"{sub['fn']} {sub['cat']}.{sub['sub']}", [sub["text"]]))
        elif right and subcategories and right != "Subcategories":
            subcategories[-1].text.append(right)
    return categories, subcategories


def _ends_table(line: Line, left: str, right: str, col: int) -> bool:
    """A section heading, a caption, or prose running across the column boundary."""
    if _SECTION.match(line.text) and not right:
        return True
    # a table row has a gap of two or more spaces before its second column; prose has none
    return bool(left and right and "  " not in line.raw[max(0, col - 3) : col + 2])


def profile(lines: list[Line]) -> tuple[list[Entry], list[Entry]]:
    """AI 600-1's subcategory outcomes and their suggested actions, in the order printed."""
    outcomes: list[Entry] = []
    actions: list[Entry] = []
    state = ""
    cols: list[int] = []
    for line in lines:
        text = line.text
        if not text:
            state = "" if state == "actors" else state
            continue
        sub = SUBCATEGORY.match(text)
        actors = _ACTORS.match(text)
        if sub and line.indent < 4:
            outcomes.append(Entry(f"{sub['fn']} {sub['cat']}.{sub['sub']}", [sub["text"]]))
            state = "outcome"
        elif text.startswith("Action ID") and "Suggested Action" in line.raw:
            cols = [line.raw.index("Suggested Action")]
            cols += [line.raw.index("GAI Risks")] if "GAI Risks" in line.raw else []
            state = "table"
        elif actors and outcomes:
            outcomes[-1].actors.append(actors["text"])
            state = "actors"
        elif state == "outcome":
            outcomes[-1].text.append(text)
        elif state == "actors":
            outcomes[-1].actors.append(text)
        elif state == "table":
            cells = [*split_at(line.raw, cols), "", ""]
            action = ACTION.match(cells[0])
            if action:
                parent = f"{ABBREVIATIONS[action['fn']]} {int(action['cat'])}.{int(action['sub'])}"
                actions.append(Entry(cells[0], outcome=parent))
            elif cells[0] or not actions:
                state = ""  # prose after a table without an actor line
                continue
            actions[-1].text += [cells[1]] if cells[1] else []
            actions[-1].risks += [cells[2]] if cells[2] else []
    return outcomes, actions
