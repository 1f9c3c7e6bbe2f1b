"""Lexical normal form for matching: lower-case word tokens, stop words out, light stemming.

The stemmer is deliberately small (no dependency): strip a handful of English inflectional
and derivational endings, drop a final ``e``, then keep at most :data:`PREFIX` characters.
Prefix truncation is crude but robust for the vocabulary of control catalogs: it makes
``configured``/``configuration``, ``authenticate``/``authentication`` and
``inventoried``/``inventory`` meet, which is what lexical recall needs most.
"""

from __future__ import annotations

import re
from functools import lru_cache

PREFIX = 7

_STOP_TEXT = """
    a about above after again against all also an and any are as at be been before being below
    between both but by can could did do does doing during each either etc few for from further
    had has have having he her here hers him his how i if in into is it its itself just may me
    might more most must my no nor not of off on once only or other our ours out over own same
    shall she should so some such than that the their theirs them then there these they this
    those through to too under until up upon us very was we were what when where which while
    who whom why will with within without would you your e g i.e eg ie
    assignment selection one more organization-defined defined
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())

# (suffix, replacement), tried in order; the first that leaves a stem of 3+ letters wins.
_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("ements", ""),
    ("ement", ""),
    ("ments", ""),
    ("ment", ""),
    ("ations", "ate"),
    ("ation", "ate"),
    ("ities", ""),
    ("ity", ""),
    ("ings", ""),
    ("ing", ""),
    ("ies", "y"),
    ("ied", "y"),
    ("sses", "ss"),
    ("xes", "x"),
    ("ches", "ch"),
    ("shes", "sh"),
    ("ed", ""),
    ("ly", ""),
    ("s", ""),
)
_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Light stem of one lower-case word (see the module docstring)."""
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, repl in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                continue
            word = word[: len(word) - len(suffix)] + repl
            break
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word[:PREFIX]


def tokens(text: str) -> list[str]:
    """Stemmed content tokens of ``text``; hyphenated words count as their parts."""
    out: list[str] = []
    for match in _WORD.finditer(text.lower()):
        word = match.group(0)
        for part in word.split("-"):
            if part in STOP_WORDS or len(part) < 2:
                continue
            out.append(stem(part))
    return out
