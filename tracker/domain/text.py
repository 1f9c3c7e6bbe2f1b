"""Noise normalisation: what two spellings of the same text have in common.

"Noise is not change." Publishers re-serialise their documents (OSCAL parameter markup,
Markdown or HTML residue), retypeset them (curly quotes, en dashes, non-breaking spaces,
ligatures) and renumber cosmetically (``AC-01`` for ``AC-1``). None of that changes what a
requirement asks for, so every comparison the diff engine makes, and every embedding cache
key, goes through :func:`normalise` first.

:func:`normalise` keeps letter case and sentence punctuation: a change of case is rare in
normative text and a reviewer may still want to see it, so it surfaces as an editorial
modification rather than disappearing. :func:`fold` goes further (lower case, no
punctuation) for lexical similarity only.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

from tracker.domain.keys import strip_zero_padding

# Typography -> ASCII. NFKC already maps the ellipsis, ligatures, full-width forms and
# non-breaking spaces; it leaves quotes and dashes alone.
_TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u00b4": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        "\u2026": "...",
        "\u2022": "-",
        "\u25cf": "-",
        "\u25aa": "-",
        "\u00a0": " ",
        # invisible characters carry no text
        "\u00ad": None,
        "\u200b": None,
        "\u200c": None,
        "\u200d": None,
        "\u2060": None,
        "\ufeff": None,
    }
)

# --- Markdown, inline: the one stripper, shared with the parsers ------------------------
# Code spans are literal (shielded from everything else, then restored); a backslash escape
# is a literal character; images go; links, nested links (badges), reference links and
# autolinks keep their text; strong, emphasis and strike-through keep their words.
_CODE = re.compile(r"(`+)(.+?)\1")
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_CODE_MARKS = re.compile(r"`{1,3}([^`]*)`{1,3}")  # for comparison: code read as words, fences too
_PROTECTED = re.compile("\ue000(\\d+)\ue001")
_SHIELDED = re.compile("\ue002(\\d+)\ue003")
_IMAGE = re.compile(r"!\[[^\]]*\]\((?:[^()\s]|\([^()]*\))*(?:\s+\"[^\"]*\")?\)")
_LINK = re.compile(r"\[([^\]]*)\]\(\s*<?((?:[^()\s<>]|\([^()]*\))*)>?(?:\s+[\"'][^\"']*[\"'])?\s*\)")
# comparison keeps the alt text, and reads an image whose target is malformed all the same
_IMAGE_ALT = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_REF_LINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", re.DOTALL)
_EM_STAR = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])", re.DOTALL)
_EM_UNDER = re.compile(r"(?<![\w_])_(?=[^\s_])(.+?)(?<=[^\s_])_(?![\w_])", re.DOTALL)
_STRIKE = re.compile(r"~~(.+?)~~", re.DOTALL)


def _link_words(match: re.Match[str]) -> str:
    return match.group(1)


def strip_links(
    text: str, link_text: Callable[[re.Match[str]], str] = _link_words, *, image_alt: bool = False
) -> str:
    """Images dropped (or their alt text kept); links (nested ones too), reference links and
    autolinks as their text."""
    if "]" in text:
        text = _IMAGE_ALT.sub(r"\1", text) if image_alt else _IMAGE.sub("", text)
        previous = None
        while previous != text:  # links inside link text, e.g. badges
            previous, text = text, _LINK.sub(link_text, text)
        text = _REF_LINK.sub(r"\1", text)
    if "<" in text:
        text = _AUTOLINK.sub(r"\1", text)
    return text


def strip_markdown(
    text: str,
    *,
    link_text: Callable[[re.Match[str]], str] = _link_words,
    residue: Callable[[str], str] | None = None,
    literal_code: bool = True,
    image_alt: bool = False,
) -> str:
    """Inline Markdown as plain text; the one stripper of the parsers and of :func:`normalise`.

    ``link_text`` gives a link's text from its match (group 1 the text, group 2 the target);
    ``residue`` cleans what else the caller's format leaves (HTML tags, entities), after
    links and emphasis are gone and before escaped characters and code spans come back,
    so that neither is mistaken for markup. Comparison (:func:`normalise`) reads text as a
    reader sees it: ``literal_code=False`` strips the backticks of code spans and fences and
    reads their words like any other, and ``image_alt=True`` keeps a picture's alt text.
    """
    spans: list[str] = []

    def shield(match: re.Match[str]) -> str:
        spans.append(match.group(2).strip())
        return f"\ue002{len(spans) - 1}\ue003"

    if "`" in text and literal_code:
        text = _CODE.sub(shield, text)
    if "\\" in text:
        text = _ESCAPE.sub(lambda m: f"\ue000{ord(m.group(1))}\ue001", text)
    text = strip_links(text, link_text, image_alt=image_alt)
    if "~" in text:
        text = _STRIKE.sub(r"\1", text)
    if "*" in text or "_" in text:
        for pattern in (_STRONG, _STRONG, _EM_STAR, _EM_UNDER):
            text = pattern.sub(lambda m: m.group(m.lastindex or 1), text)
    if "`" in text and not literal_code:
        text = _CODE_MARKS.sub(r"\1", text)
    if residue is not None:
        text = residue(text)
    if "\ue000" in text:
        text = _PROTECTED.sub(lambda m: chr(int(m.group(1))), text)
    return _SHIELDED.sub(lambda m: spans[int(m.group(1))], text) if spans else text


# --- Markup residue -------------------------------------------------------------------
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
_HTML_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'", "&nbsp;": " "}
_HTML_ENTITY = re.compile("|".join(map(re.escape, _HTML_ENTITIES)))
_LINK_DEF = re.compile(r"^\s*\[[^\]]+\]:\s+\S+.*$", re.MULTILINE)
_HEADING = re.compile(r"^[ \t]*#{1,6}[ \t]+|[ \t]+#+[ \t]*$", re.MULTILINE)
_SETEXT = re.compile(r"^[ \t]*(?:=+|-{3,}|\*{3,}|_{3,})[ \t]*$", re.MULTILINE)
_BLOCKQUOTE = re.compile(r"^[ \t]*>[ \t]?", re.MULTILINE)
_BULLET = re.compile(r"^[ \t]*[-*+][ \t]+", re.MULTILINE)
_TABLE_PIPE = re.compile(r"[ \t]*\|[ \t]*")

# --- OSCAL parameter rendering --------------------------------------------------------
# ``{{ insert: param, ac-1_prm_1 }}`` (OSCAL 1.0) and ``<insert param-id="ac-1_prm_1"/>``
# (pre-1.0 XML/JSON) are two spellings of the same placeholder.
_INSERT_MUSTACHE = re.compile(r"\{\{\s*insert\s*:\s*param\s*,\s*([\w.\-]+)\s*\}\}", re.IGNORECASE)
_INSERT_TAG = re.compile(
    r"<insert\s+(?:type=\"param\"\s+)?(?:param-)?id-ref=\"([\w.\-]+)\"\s*/>|"
    r"<insert\s+param-id=\"([\w.\-]+)\"\s*/>",
    re.IGNORECASE,
)
_ASSIGNMENT = re.compile(r"\[\s*assignment\s*:\s*", re.IGNORECASE)
_SELECTION = re.compile(r"\[\s*selection\s*(?:\(\s*(one)[\s\-]+or[\s\-]+(more)\s*\))?\s*:\s*", re.IGNORECASE)
_ORG_DEFINED = re.compile(r"\borganization[\s\-]defined\b", re.IGNORECASE)

# --- identifiers -----------------------------------------------------------------------
# A token with letters and digits, such as AC-01, ID.AM-01, LLM01, AML.T0051.000: leading
# zeros in its digit runs carry no meaning (the same rule as tracker.domain.keys).
_IDENT = re.compile(r"\b[A-Z][A-Za-z]{0,7}(?:[.\-][A-Z]{1,7})?[.\-]?(?:\d+[.\-])*0\d*(?:[.\-]\d+)*\b")
_IDENT_PAREN = re.compile(r"\b([A-Z]{2,3}-\d+)\s+\((\d+)\)")

# --- spacing -------------------------------------------------------------------------
# Runs after whitespace collapse, so a single space is all the whitespace there is.
_DASH_SPACED = re.compile(r" -{1,3} ?|-{2,3} ")
_SPACE = re.compile(r"\s+")
_SPACE_BEFORE = re.compile(r"\s+([,.;:!?)\]])")
_SPACE_AFTER = re.compile(r"([(\[])\s+")
_REPEAT_PUNCT = re.compile(r"([,;:])\1+")
_BRACKETS = re.compile(r"\]\s*\[(?=(?:Assignment|Selection)\b)", re.IGNORECASE)

_FOLD_DROP = re.compile(r"[^\w\s]")


def _strip_markup(text: str) -> str:
    # Each group of patterns runs only when its trigger character occurs: most requirement
    # text has no markup at all, and this is the hot path of a large diff.
    if "<" in text:
        text = _HTML_COMMENT.sub(" ", text)
        text = _INSERT_TAG.sub(lambda m: "{{" + (m.group(1) or m.group(2)) + "}}", text)
        text = _AUTOLINK.sub(r"\1", text)
        text = _HTML_TAG.sub(" ", text)
    if "{{" in text:
        text = _INSERT_MUSTACHE.sub(r"{{\1}}", text)
    if "&" in text:
        text = _HTML_ENTITY.sub(lambda m: _HTML_ENTITIES[m.group(0)], text)
    if "]" in text:
        text = _LINK_DEF.sub(" ", text)
    if "=" in text or "-" in text or "*" in text or "_" in text:
        text = _SETEXT.sub(" ", text)
    if "#" in text:
        text = _HEADING.sub("", text)
    if ">" in text:
        text = _BLOCKQUOTE.sub("", text)
    if "-" in text or "*" in text or "+" in text:
        text = _BULLET.sub("", text)
    text = strip_markdown(text, literal_code=False, image_alt=True)
    return _TABLE_PIPE.sub(" ", text) if text.count("|") >= 2 else text


def _canonical_params(text: str) -> str:
    if "[" not in text and "rganization" not in text:
        return text
    text = _ASSIGNMENT.sub("[Assignment: ", text)
    text = _SELECTION.sub(lambda m: "[Selection (one or more): " if m.group(1) else "[Selection: ", text)
    return _ORG_DEFINED.sub("organization-defined", text)


def _unpad(match: re.Match[str]) -> str:
    return strip_zero_padding(match.group(0))


@lru_cache(maxsize=1 << 15)
def normalise(text: str) -> str:
    """The comparison form of ``text``: equal results mean "no change worth reporting".

    Steps, in order: Unicode NFKC; typographic quotes, dashes, ellipsis and bullets to
    ASCII and invisible characters dropped; Markdown/HTML residue removed (emphasis, links
    keep their text, heading hashes, bullets, block quotes, tags, entities); OSCAL parameter
    placeholders and ``[Assignment: ...]``/``[Selection ...]`` prose in one spelling;
    identifier zero-padding removed (``AC-01`` -> ``AC-1``, ``AC-2 (1)`` -> ``AC-2(1)``);
    spaced dashes and whitespace collapsed; no space before closing punctuation.
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).translate(_TYPOGRAPHY)
    if "][" in text:  # adjacent OSCAL placeholders, not a Markdown reference link
        text = _BRACKETS.sub("] [", text)
    text = _strip_markup(text)
    text = _canonical_params(text)
    if "0" in text:
        text = _IDENT.sub(_unpad, text)
    if " (" in text:
        text = _IDENT_PAREN.sub(r"\1(\2)", text)
    text = _SPACE.sub(" ", text)
    if "-" in text:
        text = _DASH_SPACED.sub(" - ", text)
    text = _SPACE_BEFORE.sub(r"\1", text)
    text = _SPACE_AFTER.sub(r"\1", text)
    text = _REPEAT_PUNCT.sub(r"\1", text)
    return text.strip()


def fold(text: str, *, normalised: bool = False) -> str:
    """Lower-cased :func:`normalise` without punctuation, for lexical similarity only.

    ``normalised=True`` skips normalisation for text that already went through it.
    """
    base = text if normalised else normalise(text)
    return _SPACE.sub(" ", _FOLD_DROP.sub(" ", base.lower())).strip()


def content_hash(text: str) -> str:
    """SHA-256 (hex) of the normalised text: the identity of a text across versions."""
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()
