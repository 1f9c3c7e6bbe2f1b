"""Normalised requirement keys: one spelling for identifiers that differ only cosmetically.

``AC-1``/``AC-01``, ``AC-2(1)``/``ac-2.1``/``AC-2 (1)``, ``ID.AM-1``/``ID.AM-01`` and
``AML.T0051.000``/``AML.T51.0`` each map to one key. Leading zeros carry no meaning in any
scheme we track, and OSCAL's ``ac-2.1`` is the machine spelling of the printed ``AC-2(1)``.
"""

from __future__ import annotations

import re

_DASHES = str.maketrans(
    {"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-"}
)
_PAREN = re.compile(r"\(\s*([0-9A-Za-z]+)\s*\)")
_ZEROS = re.compile(r"(?<![0-9])0+(?=[0-9])")
_SPACE = re.compile(r"\s+")


def normalise_key(ident: str) -> str:
    """Return the canonical key for a printed identifier."""
    text = ident.translate(_DASHES).strip().upper()
    text = _PAREN.sub(r".\1", text)
    text = _SPACE.sub("", text)
    text = strip_zero_padding(text)
    return text.strip(".-:")


def strip_zero_padding(text: str) -> str:
    """Leading zeros of every digit run dropped (``AC-01`` -> ``AC-1``, ``2.03`` -> ``2.3``).

    Publishers pad numbers for sorting (``AC-01``, ``ID.AM-01``); the padding never changes
    which control is meant, so keys and comparison text both drop it, by this one rule.
    """
    return _ZEROS.sub("", text)
