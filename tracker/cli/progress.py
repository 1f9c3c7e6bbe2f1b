"""Progress of slow work on stderr, shown only once the work has taken over a second.

The first `tracker map`, `tracker impact` or `tracker diff` on a fresh archive embeds
thousands of texts; without a word on the terminal that looks like a hang. Quick runs
(everything cached) print nothing, so scripts reading stdout see no difference, and the
lines go to stderr in any case. On a terminal one line is rewritten in place; otherwise a
line is written at most every few seconds, plus one when a batch of texts is done.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

DELAY = 1.0  # seconds of silence allowed before the first line
PLAIN_INTERVAL = 5.0  # seconds between lines when stderr is not a terminal


class EmbeddingProgress:
    """A :data:`embeddings.sentence_transformer.Progress` callback writing to ``stream``."""

    def __init__(self, stream: TextIO | None = None, *, delay: float = DELAY) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.delay = delay
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started: float | None = None
        self.last = 0.0
        self.shown = False  # something was printed
        self.texts = 0  # texts encoded by finished calls
        self.open_line = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if self.started is None:
            self.started = now
        elapsed = now - self.started
        if elapsed < self.delay:
            if done == total:
                self.texts += total
            return
        finished = done == total
        interval = 0.2 if self.tty else PLAIN_INTERVAL
        if not finished and now - self.last < interval:
            return
        self.last = now
        message = f"embedding texts: {done}/{total} ({self.texts + done} in all, {elapsed:.0f} s)"
        if self.tty:
            self.stream.write("\r" + message + ("\n" if finished else ""))
            self.open_line = not finished
        else:
            self.stream.write(message + "\n")
        self.stream.flush()
        self.shown = True
        if finished:
            self.texts += total

    def close(self) -> None:
        """End a line left open on a terminal."""
        if self.open_line:
            self.stream.write("\n")
            self.stream.flush()
            self.open_line = False
