"""Word-level redlines with diff-match-patch, its parameters pinned in one place.

Why these settings:

- ``Diff_Timeout = 0``: diff-match-patch otherwise stops refining after one second and
  returns a coarser diff, so the same two texts could redline differently on a slow
  machine. With 0 the result depends on the input only.
- ``Diff_EditCost = 4`` (the library default, pinned so an upgrade cannot move it); it only
  matters for efficiency clean-up, which we do not use, but it is part of the contract.
- Long, very different texts are diffed sentence-first, then word by word inside each changed
  stretch whose estimated cost fits ``WORD_DIFF_BUDGET``, like the library's own line mode;
  with no timeout this bounds the cost of pure-Python Myers. The choice depends on the texts
  only, never on the clock.
- Word level: each word, run of whitespace and punctuation mark becomes one symbol (the
  library's "lines to chars" trick), so edits never cut through a word; semantic clean-up
  then runs on those symbols and merges small equalities into the surrounding edits, which
  reads like a human redline ("[-shall-]{+should+}", not a character soup).
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from diff_match_patch import diff_match_patch

DIFF_TIMEOUT = 0.0
DIFF_EDIT_COST = 4

# Texts longer than this (in tokens, both sides together) are diffed sentence-first.
SENTENCE_MODE_MIN_TOKENS = 600
# Myers' diff costs about (n + m) * d steps for d edits. A stretch is refined to words when
# it is short, or when that estimate (d bounded below by the bag-of-symbols difference) stays
# under this budget; otherwise it stays a whole-sentence replacement.
REGION_MAX_TOKENS = 150
WORD_DIFF_BUDGET = 400_000

DELETE, EQUAL, INSERT = -1, 0, 1
_SENTENCE_END = frozenset(".;:!?")
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)
# Diff symbols: a word or a punctuation mark with the whitespace after it, which halves the
# sequence the O(ND) diff walks; :func:`_tidy` moves that whitespace back out of the marks.
_SYMBOL = re.compile(r"\w+\s*|[^\w\s]\s*|\s+", re.UNICODE)
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


class _Symbols:
    """One character per distinct token, so diff-match-patch diffs token sequences."""

    def __init__(self) -> None:
        self.code: dict[str, str] = {}
        self.token: dict[str, str] = {}

    def encode(self, toks: Sequence[str]) -> str:
        code = self.code
        for tok in toks:
            if tok not in code:
                number = len(code) + 1
                number += 0x800 if number >= 0xD800 else 0  # skip the surrogate block
                code[tok] = chr(number)
                self.token[code[tok]] = tok
        return "".join([code[tok] for tok in toks])

    def decode(self, chars: str) -> str:
        return "".join(self.token[c] for c in chars)


def _word_diff(old_tokens: Sequence[str], new_tokens: Sequence[str]) -> list[tuple[int, str]]:
    """Diff two symbol lists, then run semantic clean-up at the finer word/space/mark level.

    The diff itself walks the coarse symbols (fast); the clean-up weighs every word, space and
    punctuation mark, so a kept word between two edits is not swallowed into them.
    """
    coarse, fine = _Symbols(), _Symbols()
    dmp = _engine()
    diffs = dmp.diff_main(coarse.encode(old_tokens), coarse.encode(new_tokens), False)
    spaced = _tidy([(op, coarse.decode(chars)) for op, chars in diffs])
    refined = [(op, fine.encode(tokens(text))) for op, text in spaced]
    dmp.diff_cleanupSemantic(refined)
    return [(op, fine.decode(chars)) for op, chars in refined if chars]


def _affordable(a: Sequence[str], b: Sequence[str]) -> bool:
    """Whether a word-level diff of ``a`` and ``b`` stays within ``WORD_DIFF_BUDGET`` (see above)."""
    if len(a) <= REGION_MAX_TOKENS and len(b) <= REGION_MAX_TOKENS:
        return True
    ca, cb = Counter(a), Counter(b)
    lower_bound = sum(((ca - cb) + (cb - ca)).values())
    return (len(a) + len(b)) * max(lower_bound, 1) <= WORD_DIFF_BUDGET


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
            a, b = _SYMBOL.findall(deleted), _SYMBOL.findall(inserted)
            if _affordable(a, b):
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
    old_tokens, new_tokens = _SYMBOL.findall(old), _SYMBOL.findall(new)
    if len(old_tokens) + len(new_tokens) <= SENTENCE_MODE_MIN_TOKENS or _affordable(old_tokens, new_tokens):
        raw = _word_diff(old_tokens, new_tokens)
    else:
        raw = _sentence_diff(old_tokens, new_tokens)
    return Redline(tuple(_tidy(raw)))


def _merge(raw: Sequence[tuple[int, str]]) -> list[tuple[int, str]]:
    ops: list[tuple[int, str]] = []
    for op, text in raw:
        if not text:
            continue
        if ops and ops[-1][0] == op:
            ops[-1] = (op, ops[-1][1] + text)
        else:
            ops.append((op, text))
    return ops


def _tidy(raw: Sequence[tuple[int, str]]) -> list[tuple[int, str]]:
    """Trailing whitespace shared by every edit of a stretch belongs to the kept text after it."""
    ops = _merge(raw)
    out: list[tuple[int, str]] = []
    pos = 0
    while pos < len(ops):
        if ops[pos][0] == EQUAL:
            out.append(ops[pos])
            pos += 1
            continue
        end = pos
        while end < len(ops) and ops[end][0] != EQUAL:
            end += 1
        run = ops[pos:end]
        tails = {text[len(text.rstrip()) :] for _, text in run}
        tail = tails.pop() if len(tails) == 1 else ""
        if tail and all(text.strip() for _, text in run):
            out.extend((op, text[: len(text) - len(tail)]) for op, text in run)
            out.append((EQUAL, tail))
        else:
            out.extend(run)
        pos = end
    return _merge(out)


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


def render_html(red: Redline, *, limit: int | None = None, del_style: str = "", ins_style: str = "") -> str:
    """``<del>``/``<ins>`` inline; every piece of text is HTML-escaped.

    ``limit`` cuts the text (all pieces counted) after that many characters with " …";
    the styles are inline ``style`` attributes, for email clients that drop style sheets.
    """
    parts: list[str] = []
    dels = f' style="{html.escape(del_style, quote=True)}"' if del_style else ""
    inss = f' style="{html.escape(ins_style, quote=True)}"' if ins_style else ""
    used = 0
    for op, text in red.ops:
        if limit is not None:
            if used >= limit:
                parts.append(" …")
                break
            text = text[: limit - used] + (" …" if len(text) > limit - used else "")
            used += len(text)
        escaped = html.escape(text, quote=True)
        if op == DELETE:
            parts.append(f"<del{dels}>{escaped}</del>")
        elif op == INSERT:
            parts.append(f"<ins{inss}>{escaped}</ins>")
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
