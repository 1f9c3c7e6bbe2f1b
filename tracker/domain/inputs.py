"""What the tracker accepts as names and stored text from people and publishers.

One rule per kind of input, applied at every entry point (CLI, crawl archiving, API), so a
value accepted in one place can always be reached from another.

Stored text may hold any character but NUL and the other C0 control characters (tab and
line breaks excepted): PostgreSQL cannot store NUL in text at all, and the rest are never
meaningful in a control, a title or a name, only a way to make two values look alike.
"""

from __future__ import annotations

import re

from tracker.domain.errors import InvalidInputError

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def control_character(value: str) -> str:
    """The first control character in ``value`` as ``U+XXXX`` ('' when there is none)."""
    found = _CONTROL.search(value)
    return f"U+{ord(found.group()):04X}" if found else ""


def refuse_control_characters(field: str, value: str) -> None:
    """Raise :class:`InvalidInputError` naming ``field`` if ``value`` holds a control character."""
    found = control_character(value)
    if found:
        raise InvalidInputError(
            f"{field} contains the control character {found}",
            "remove it; NUL and other control characters cannot be stored",
        )
