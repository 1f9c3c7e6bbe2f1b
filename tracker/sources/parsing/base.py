"""The parser interface: sniff a file, parse it into a :class:`ParsedDocument`."""

from __future__ import annotations

from typing import Protocol

from tracker.domain.model import ParsedDocument


class Parser(Protocol):
    """A reader for one document format.

    ``sniff`` returns a confidence from 0 (not mine) to 100 (certainly mine), looking at the
    file name and bytes only; it must be cheap and must not raise. ``parse`` raises
    :class:`tracker.domain.errors.ParseError` naming the file and the problem on bad input.
    """

    name: str
    version: str

    def sniff(self, filename: str, data: bytes) -> int: ...

    def parse(self, filename: str, data: bytes) -> ParsedDocument: ...
