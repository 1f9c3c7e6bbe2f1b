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


# A source slug is a path segment of every API URL and a folder name in the corpus layout:
# lower-case letters, digits and ``. _ -``, starting with a letter or digit (so never ``..``
# or a hidden name), at most 128 characters.
SLUG_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,127}$"
# A version label is the publisher's name for an edition (``rev5``, ``v4.9.1``, ``2.0``):
# letters of either case, digits and ``. _ - +``, starting with a letter or digit. No ``/``,
# ``?``, ``#``, ``%`` or spaces, which would change the meaning of the URL it sits in.
LABEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$"
_SLUG = re.compile(SLUG_PATTERN)
_LABEL = re.compile(LABEL_PATTERN)


def check_slug(slug: str) -> str:
    """``slug`` if it is a valid source slug, else :class:`InvalidInputError` saying why."""
    if not _SLUG.fullmatch(slug):
        raise InvalidInputError(
            f"source slug {slug[:140]!r} is not valid",
            "use 1-128 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit "
            "(e.g. nist-sp-800-53)",
        )
    return slug


def check_label(label: str) -> str:
    """``label`` if it is a valid version label, else :class:`InvalidInputError` saying why."""
    if not _LABEL.fullmatch(label):
        raise InvalidInputError(
            f"version label {label[:140]!r} is not valid",
            "use 1-128 letters, digits, '.', '_', '+' or '-', starting with a letter or digit "
            "(e.g. rev5, v4.9.1); no '/', '?', '#', '%' or spaces",
        )
    return label
