"""Word-level redlines with diff-match-patch, its parameters pinned in one place.

Why these settings:

- ``Diff_Timeout = 0``: diff-match-patch otherwise stops refining after one second and
  returns a coarser diff, so the same two texts could redline differently on a slow
  machine. With 0 the result depends on the input only.
- ``Diff_EditCost = 4`` (the library default, pinned so an upgrade cannot move it); it only
  matters for efficiency clean-up, which we do not use, but it is part of the contract.
- Long texts (``SENTENCE_MODE_MIN_TOKENS``) are diffed sentence-first, then word by word inside
  each changed stretch up to ``REGION_MAX_TOKENS``, like the library's own line mode; with no
  timeout this bounds the cost of pure-Python Myers on two very different long texts.
- Word level: each word, run of whitespace and punctuation mark becomes one symbol (the
  library's "lines to chars" trick), so edits never cut through a word; semantic clean-up
  then runs on those symbols and merges small equalities into the surrounding edits, which
  reads like a human redline ("[-shall-]{+should+}", not a character soup).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from diff_match_patch import diff_match_patch

DIFF_TIMEOUT = 0.0
DIFF_EDIT_COST = 4

# Texts longer than this (in tokens, both sides together) are diffed sentence-first.
SENTENCE_MODE_MIN_TOKENS = 600
# Inside sentence mode, a changed stretch up to this many tokens a side is refined to words.
REGION_MAX_TOKENS = 400

DELETE, EQUAL, INSERT = -1, 0, 1
_SENTENCE_END = frozenset(".;:!?")
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)
_WORD = re.compile(r"\w", re.UNICODE)
_TEXT_MARK = re.compile(r"\[-(.*?)-\]|\{\+(.*?)\+\}", re.DOTALL)


def _engine() -> diff_match_patch:
    dmp = diff_match_patch()
    dmp.Diff_Timeout = DIFF_TIMEOUT
    dmp.Diff_EditCost = DIFF_EDIT_COST
    return dmp


def tokens(text: str) -> list[str]:
    """Words, whitespace runs and single punctuation marks, in order; joined they give ``text``."""
    return _TOKEN.findall(text)


@dataclass(frozen=True)
class Redline:
    """A sequence of ``(op, text)`` with op -1 deleted, 0 kept, 1 inserted."""

    ops: tuple[tuple[int, str], ...]

    @property
    def changed(self) -> bool:
        return any(op != EQUAL for op, _ in self.ops)

    def old_text(self) -> str:
        return "".join(text for op, text in self.ops if op != INSERT)

    def new_text(self) -> str:
        return "".join(text for op, text in self.ops if op != DELETE)

    def deleted_words(self) -> list[str]:
        return [t for op, text in self.ops if op == DELETE for t in tokens(text) if _WORD.search(t)]

    def inserted_words(self) -> list[str]:
        return [t for op, text in self.ops if op == INSERT for t in tokens(text) if _WORD.search(t)]

    def similarity(self) -> float:
        """Share of words kept: 2 * kept / (old words + new words); 1.0 for two empty texts."""
        kept = sum(1 for op, text in self.ops if op == EQUAL for t in tokens(text) if _WORD.search(t))
        total = 2 * kept + len(self.deleted_words()) + len(self.inserted_words())
        return 1.0 if total == 0 else 2 * kept / total

    def replacements(self) -> list[tuple[str, str]]:
        """Adjacent delete+insert pairs, the unit in which typo fixes show up."""
        pairs: list[tuple[str, str]] = []
        for (op_a, text_a), (op_b, text_b) in zip(self.ops, self.ops[1:], strict=False):
            if op_a == DELETE and op_b == INSERT:
                pairs.append((text_a, text_b))
        return pairs

    def text(self) -> str:
        return render_text(self)

    def html(self) -> str:
        return render_html(self)


def _word_diff(old_tokens: Sequence[str], new_tokens: Sequence[str]) -> list[tuple[int, str]]:
    """Word-level diff of two token lists: one symbol per distinct token, then dmp + semantic clean-up."""
    symbols: dict[str, str] = {}

    def encode(toks: Sequence[str]) -> str:
        out = []
        for tok in toks:
            sym = symbols.get(tok)
            if sym is None:
                code = len(symbols) + 1
                code += 0x800 if code >= 0xD800 else 0  # skip the surrogate block
                sym = chr(code)
                symbols[tok] = sym
            out.append(sym)
        return "".join(out)

    dmp = _engine()
    diffs = dmp.diff_main(encode(old_tokens), encode(new_tokens), False)
    dmp.diff_cleanupSemantic(diffs)
    index = {sym: tok for tok, sym in symbols.items()}
    return [(op, "".join(index[c] for c in chars)) for op, chars in diffs if chars]


def _segments(toks: Sequence[str]) -> list[str]:
    """Cut a token list after sentence punctuation or a line break; joined they give the text."""
    out: list[str] = []
    start = 0
    for pos, tok in enumerate(toks):
        end_of_sentence = tok in _SENTENCE_END and pos + 1 < len(toks) and toks[pos + 1].isspace()
        if end_of_sentence or (tok.isspace() and "\n" in tok):
            out.append("".join(toks[start : pos + 1]))
            start = pos + 1
    if start < len(toks):
        out.append("".join(toks[start:]))
    return out


def _sentence_diff(old_tokens: list[str], new_tokens: list[str]) -> list[tuple[int, str]]:
    """Long texts: diff sentences first, then words inside each changed stretch of bounded size.

    The same idea as diff-match-patch's own line mode, with no timeout: cost stays bounded
    and the result still depends on the input only. A changed stretch longer than
    ``REGION_MAX_TOKENS`` on either side stays a whole-sentence replacement.
    """
    old_segs, new_segs = _segments(old_tokens), _segments(new_tokens)
    coarse = _word_diff(old_segs, new_segs)
    ops: list[tuple[int, str]] = []
    pending: dict[int, str] = {DELETE: "", INSERT: ""}

    def flush() -> None:
        deleted, inserted = pending[DELETE], pending[INSERT]
        if deleted and inserted:
            a, b = tokens(deleted), tokens(inserted)
            if len(a) <= REGION_MAX_TOKENS and len(b) <= REGION_MAX_TOKENS:
                ops.extend(_word_diff(a, b))
            else:
                ops.extend([(DELETE, deleted), (INSERT, inserted)])
        elif deleted:
            ops.append((DELETE, deleted))
        elif inserted:
            ops.append((INSERT, inserted))
        pending[DELETE] = pending[INSERT] = ""

    for op, text in coarse:
        if op == EQUAL:
            flush()
            ops.append((EQUAL, text))
        else:
            pending[op] += text
    flush()
    return ops


def redline(old: str, new: str) -> Redline:
    """Diff two texts word by word, with semantic clean-up. Deterministic for given inputs."""
    if old == new:
        return Redline(((EQUAL, old),) if old else ())
    old_tokens, new_tokens = tokens(old), tokens(new)
    if len(old_tokens) + len(new_tokens) <= SENTENCE_MODE_MIN_TOKENS:
        raw = _word_diff(old_tokens, new_tokens)
    else:
        raw = _sentence_diff(old_tokens, new_tokens)
    ops: list[tuple[int, str]] = []
    for op, text in raw:
        if ops and ops[-1][0] == op:
            ops[-1] = (op, ops[-1][1] + text)
        else:
            ops.append((op, text))
    return Redline(tuple(ops))


def render_text(red: Redline) -> str:
    """``[-deleted-]{+inserted+}`` inline (wdiff style), whitespace kept inside the marks."""
    parts: list[str] = []
    for op, text in red.ops:
        if op == DELETE:
            parts.append(f"[-{text}-]")
        elif op == INSERT:
            parts.append(f"{{+{text}+}}")
        else:
            parts.append(text)
    return "".join(parts)


def render_html(red: Redline) -> str:
    """``<del>``/``<ins>`` inline; every piece of text is HTML-escaped."""
    parts: list[str] = []
    for op, text in red.ops:
        escaped = html.escape(text, quote=True)
        if op == DELETE:
            parts.append(f"<del>{escaped}</del>")
        elif op == INSERT:
            parts.append(f"<ins>{escaped}</ins>")
        else:
            parts.append(escaped)
    return "".join(parts)


def parse_text(rendered: str) -> Redline:
    """Read back :func:`render_text` output (used when a stored diff is re-rendered as HTML).

    Texts that themselves contain ``[-``/``{+`` markers cannot be told apart from edits;
    normalised requirement text practically never does.
    """
    ops: list[tuple[int, str]] = []
    pos = 0
    for match in _TEXT_MARK.finditer(rendered):
        if match.start() > pos:
            ops.append((EQUAL, rendered[pos : match.start()]))
        if match.group(1) is not None:
            ops.append((DELETE, match.group(1)))
        else:
            ops.append((INSERT, match.group(2)))
        pos = match.end()
    if pos < len(rendered):
        ops.append((EQUAL, rendered[pos:]))
    return Redline(tuple(ops))


def word_similarity(old: str, new: str) -> float:
    """Share of words two texts have in common, in order (see :meth:`Redline.similarity`)."""
    return redline(old, new).similarity()


def join_ops(parts: Sequence[Redline]) -> Redline:
    """Concatenate redlines (e.g. per-field) into one."""
    return Redline(tuple(op for red in parts for op in red.ops))
