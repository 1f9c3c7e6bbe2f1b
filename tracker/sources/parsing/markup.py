"""Plain text out of Markdown and LaTeX, so that markup-only edits leave the text unchanged.

The diff engine compares text. Publishers re-wrap paragraphs, swap ``*`` for ``-`` bullets,
renumber ordered lists, add bold, move a URL or curl their quotes without changing a word;
none of that may look like a change. So the cleaners keep the words and a minimal structure
(paragraphs separated by a blank line, list items as ``- `` lines, table rows as
``cell | cell``) and drop everything else: emphasis, link targets, images, HTML tags, heading
anchors, escapes, hard wraps, list numbering and typographic quotes.
"""

from __future__ import annotations

import html
import re

from tracker.domain.errors import ParseError
from tracker.domain.text import strip_links, strip_markdown

_QUOTES = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00a0": " ", "\u200b": "", "\ufeff": ""}
)
_SPACES = re.compile(r"[ \t\f\v]+")
_PAREN_SPACE = re.compile(r"(\() +| +(\))")
_SLUG = re.compile(r"[^a-z0-9]+")
_NUMBERING = re.compile(r"^\s*(\d{1,3}(?:\.\d{1,3})+|\d{1,3}(?=\.))\.?\s+(?=\S)")  # "2.1.", "1.1", "2."

_FRONT = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_FRONT_LINE = re.compile(r"^([A-Za-z][\w-]*)[ \t]*:[ \t]*(.*?)\s*$")

# Markdown, block level
HEADING = re.compile(r"^(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_BROKEN_HEADING = re.compile(r"^(#{1,6})[^\w\s#]\s+(.*?)\s*$")  # "###@ Sanitization:", a typo
_ITEM = re.compile(r"^(?:[-*+\u2022]|\d{1,3}[.)])\s+(.*)$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_PSEUDO_HEADING = re.compile(r"^(\*\*|__)[^*_]+\1\s*:?\s*$")
_LINK_DEFINITION = re.compile(r"^\[[^\]]+\]:\s*\S+")
_RULE = re.compile(r"^(?:[-*_]\s*){3,}$")
_TABLE_SEP = re.compile(r"^\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?$")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_SHORTCODE = re.compile(r"\{\{[<%].*?[%>]\}\}", re.DOTALL)
# Markdown, inline (links, emphasis, code spans and escapes: tracker.domain.text.strip_markdown)
_CELL_END = re.compile(r"</t[dh]\s*>", re.IGNORECASE)
_TAG = re.compile(
    r"</?(?:a|abbr|b|br|center|code|details|div|em|font|h[1-6]|hr|i|img|kbd|li|ol|p|pre|small|span|strong"
    r"|sub|summary|sup|table|tbody|td|tfoot|th|thead|tr|u|ul)\b[^>]*>",
    re.IGNORECASE,
)
_ANCHOR = re.compile(r"\s*\{#[^}]*\}")

# LaTeX
_TEX_COMMENT = re.compile(r"(?<!\\)%.*")
_TEX_DROP = re.compile(
    r"\\(?:includegraphics|label|ref|pageref|eqref|cite|vspace|hspace|input|include|bibliography"
    r"|bibliographystyle|addcontentsline|setlength)\*?\s*(?:\[[^\]]*\])?\s*(?:\{[^{}]*\})*"
)
_TEX_HREF = re.compile(r"\\href\s*\{[^{}]*\}\s*\{([^{}]*)\}")
_TEX_FOOTNOTE = re.compile(r"\\footnote\s*(?:\[[^\]]*\])?\s*\{([^{}]*)\}")
_TEX_ARG = re.compile(r"\\(?!href\b|footnote\b)[a-zA-Z]+\*?\s*(?:\[[^\]]*\])?\s*\{([^{}]*)\}")
_TEX_ENV = re.compile(r"\\(?:begin|end)\s*\{[^}]*\}(?:\s*\[[^\]]*\])?(?:\s*\{[^{}]*\})?")
_TEX_ITEM = re.compile(r"\\item\b\s*(?:\[([^\]]*)\])?")
_TEX_WORD = re.compile(r"\\[a-zA-Z]+\*?")
_TEX_ESCAPES = (
    ("\\&", "&"), ("\\%", "%"), ("\\$", "$"), ("\\#", "#"), ("\\_", "_"),
    ("\\{", "\ue004"), ("\\}", "\ue005"), ("\\'", "'"), ("\\(", "("), ("\\)", ")"),
    ("\\ ", " "), ("\\,", " "),
    ("``", '"'), ("''", '"'), ("---", "\u2014"), ("--", "\u2013"), ("~", " "),
)  # fmt: skip


def decode(filename: str, data: bytes, kind: str) -> str:
    """UTF-8 text of a document, or a :class:`ParseError` saying why it is not ``kind`` text."""
    if not data.strip():
        raise ParseError(filename, "the file is empty")
    if b"\x00" in data[:65536]:
        raise ParseError(filename, f"binary data (NUL bytes), not {kind} text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(filename, f"not UTF-8 {kind} text (bad byte at offset {exc.start})") from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def basename(filename: str) -> str:
    return re.split(r"[/\\]", filename)[-1]


def slugify(text: str) -> str:
    """``"Testing, Evaluation (TEVV)"`` -> ``"testing-evaluation-tevv"``."""
    return _SLUG.sub("-", text.translate(_QUOTES).replace("'", "").lower()).strip("-")


def split_number(title: str) -> tuple[str, str]:
    """``"2.1. Evasion"`` -> ``("2.1", "Evasion")``; a title without numbering -> ``("", title)``."""
    match = _NUMBERING.match(title)
    if match is None:
        return "", title.strip()
    return match.group(1), title[match.end() :].strip()


def front_matter(text: str) -> tuple[dict[str, str], str]:
    """Split Hugo/Jekyll ``---`` front matter (top-level scalars only) from the body."""
    match = _FRONT.match(text)
    if match is None:
        return {}, text
    fields: dict[str, str] = {}
    for line in match.group(1).splitlines():
        found = _FRONT_LINE.match(line)
        if found:
            fields[found.group(1).lower()] = found.group(2).strip().strip("\"'")
    return fields, text[match.end() :]


def md_inline(text: str) -> str:
    """One line or paragraph of Markdown as plain text."""
    return _tidy(strip_markdown(text, residue=_html_residue))


def _html_residue(text: str) -> str:
    """Inline HTML a Markdown file may hold: table cells apart, tags and heading anchors gone."""
    text = _TAG.sub(" ", _CELL_END.sub(" | ", text))
    return html.unescape(_ANCHOR.sub("", text).replace("**", ""))


def in_code(lines: list[str]) -> list[bool]:
    """For each line, whether it belongs to a fenced code block (fences included)."""
    flags: list[bool] = []
    fence = ""
    for line in lines:
        match = _FENCE.match(line)
        if fence:
            flags.append(True)
            if match and match.group(1) == fence:
                fence = ""
        else:
            flags.append(match is not None)
            fence = match.group(1) if match else ""
    return flags


def markdown_to_text(md: str) -> str:
    """A Markdown fragment as plain text (see the module docstring for what is kept)."""
    md = _SHORTCODE.sub("", _COMMENT.sub("", md))
    blocks: list[tuple[str, str]] = []
    current: list[str] = []
    kind = "para"

    def flush() -> None:
        nonlocal current
        if current:
            blocks.append((kind, md_inline(" ".join(current))))
        current = []

    lines = md.split("\n")
    for raw, code in zip(lines, in_code(lines), strict=True):
        line = raw.strip()
        if code:  # code stays verbatim, one line each; the fences go
            flush()
            if not _FENCE.match(raw):
                blocks.append(("row", line))
            continue
        while line.startswith(">"):
            line = line[1:].strip()
        if not line or _RULE.match(line):
            flush()
        elif _TABLE_SEP.match(line) or _LINK_DEFINITION.match(line):
            continue
        elif line.startswith("|"):
            flush()
            cells = (md_inline(c) for c in re.split(r"(?<!\\)\|", strip_links(line).strip("|")))
            blocks.append(("row", " | ".join(c for c in cells if c)))
        elif heading := HEADING.match(line) or _BROKEN_HEADING.match(line):
            flush()
            blocks.append(("para", split_number(md_inline(heading.group(2)))[1].rstrip(" :")))
        elif _PSEUDO_HEADING.match(line):  # a bold line standing alone is a heading
            flush()
            blocks.append(("para", md_inline(line).rstrip(" :")))
        elif item := _ITEM.match(line):
            flush()
            kind, current = "item", [item.group(1)]
        else:
            if not current:
                kind = "para"
            current.append(line)
    flush()
    return join_blocks(blocks)


def join_blocks(blocks: list[tuple[str, str]]) -> str:
    """Paragraphs apart by a blank line; consecutive list items and table rows one per line."""
    out: list[str] = []
    last = ""
    for kind, text in blocks:
        if not text or text == "|":
            continue
        if kind == "item":
            text = "- " + text
        if out:
            out.append("\n" if kind == last and kind in ("item", "row") else "\n\n")
        out.append(text)
        last = kind
    return "".join(out)


def latex_to_text(tex: str) -> str:
    """A LaTeX fragment as plain text: commands dropped, arguments kept, ``\\item`` as ``- ``."""
    tex = "\n".join(_TEX_COMMENT.sub("", line) for line in tex.split("\n"))
    tex = _TEX_DROP.sub("", tex)
    tex = _TEX_ENV.sub("\n\n", tex)
    tex = _TEX_ITEM.sub(lambda m: "\n\n\ue002" + (m.group(1) or "") + " ", tex)
    previous = None
    while previous != tex:  # innermost argument first, so nesting unwinds
        previous = tex
        tex = _TEX_HREF.sub(r"\1", tex)
        tex = _TEX_FOOTNOTE.sub(r" (\1)", tex)
        tex = _TEX_ARG.sub(r"\1", tex)
    tex = tex.replace("\\\\", "\ue003")
    for escaped, plain in _TEX_ESCAPES:
        tex = tex.replace(escaped, plain)
    tex = _TEX_WORD.sub("", tex).replace("{", "").replace("}", "")
    tex = tex.replace("\ue003", " ").replace("\ue004", "{").replace("\ue005", "}")
    blocks: list[tuple[str, str]] = []
    for para in re.split(r"\n\s*\n", tex):
        words = _tidy(para.replace("\n", " "))
        if words.startswith("\ue002"):
            blocks.append(("item", words[1:].strip()))
        elif words:
            blocks.append(("para", words))
    return join_blocks(blocks)


def _tidy(text: str) -> str:
    text = _SPACES.sub(" ", text.translate(_QUOTES))
    return _PAREN_SPACE.sub(lambda m: m.group(1) or m.group(2), text).strip()
