"""One error hierarchy. Every message says what was wrong and what to do about it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class ExitCode:
    """The CLI's exit statuses, one per kind of outcome a script may want to tell apart
    (``tracker --help`` lists them). 2 is what Click answers to a usage error."""

    OK = 0
    ERROR = 1  # any other refusal, with a message saying why
    USAGE = 2  # unknown command or option, missing argument
    NOT_FOUND = 3  # no such source, version, organisation, control, job...
    INVALID_INPUT = 4  # a file or value that cannot be read; nothing was stored
    CONFLICT = 5  # the thing exists already, or someone changed it first
    PARTIAL_DELIVERY = 6  # some digests were delivered and some failed (they are retried)
    INTERNAL = 70  # an unexpected error (EX_SOFTWARE); TRACKER_DEBUG=1 shows the traceback
    INTERRUPTED = 130  # Ctrl-C


class TrackerError(Exception):
    """Base class: ``str(err)`` is the problem, ``err.hint`` the fix."""

    exit_code = ExitCode.ERROR

    def __init__(self, problem: str, hint: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.problem} ({self.hint})" if self.hint else self.problem

    def to_dict(self) -> dict[str, str]:
        return {"error": type(self).__name__, "problem": self.problem, "hint": self.hint}


class ParseError(TrackerError):
    """A document could not be read as the format it claims or appears to be."""

    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, path: str, problem: str, hint: str = "") -> None:
        super().__init__(
            f"{path}: {problem}", hint or "check that the file is complete and in a supported format"
        )
        self.path = path
        self.detail = problem

    def located(self, path: str) -> ParseError:
        """The same error (same class), naming the file by a fuller path."""
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.path = path
        clone.problem = f"{path}: {self.detail}"
        clone.args = (clone.problem,)
        return clone


class UnknownFormatError(ParseError):
    def __init__(self, path: str) -> None:
        super().__init__(
            path,
            "not a recognised standards format",
            "supported: OSCAL catalog/profile (JSON, YAML, XML), MITRE ATLAS.yaml, framework-library YAML, "
            "AI RMF playbook JSON, OWASP Top 10 Markdown, OWASP AI Exchange Markdown, LaTeX checklist, "
            "GOV.UK publication HTML, EUR-Lex act HTML, ETSI-style PDF, any HTML page with headings",
        )


class DocumentTooLargeError(ParseError):
    def __init__(self, path: str, size: int, limit: int) -> None:
        super().__init__(
            path,
            f"{size} bytes is larger than the {limit}-byte limit for one document",
            "raise TRACKER_MAX_DOCUMENT_BYTES if this really is a standard",
        )


class NoDocumentsError(TrackerError):
    def __init__(self, where: str) -> None:
        super().__init__(
            f"{where}: no documents found", "point at a file or a folder holding the version's documents"
        )


class NotFoundError(TrackerError):
    exit_code = ExitCode.NOT_FOUND


class ConflictError(TrackerError):
    exit_code = ExitCode.CONFLICT


class InvalidInputError(TrackerError):
    exit_code = ExitCode.INVALID_INPUT


@dataclass(frozen=True)
class RowProblem:
    """One bad row of a tabular file: ``row`` counts records from 1 (the header row).

    ``row`` is None for a problem of the file as a whole (not UTF-8, no data rows).
    """

    row: int | None
    message: str
    column: str | None = None

    def __str__(self) -> str:
        if self.row is None:
            return self.message
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


class InvalidRowsError(InvalidInputError):
    """A tabular file with bad rows. Every bad row is named; nothing of the file was stored."""

    shown = 50  # rows listed in the message; ``problems`` holds them all

    def __init__(self, filename: str, problems: Sequence[RowProblem], hint: str) -> None:
        self.filename = filename
        self.problems = tuple(problems)
        lines = [f"  {p}" for p in self.problems[: self.shown]]
        if len(self.problems) > self.shown:
            lines.append(f"  ... and {len(self.problems) - self.shown} more")
        count = len(self.problems)
        super().__init__(
            f"{filename}: {count} problem{'s' if count != 1 else ''}; nothing was imported\n"
            + "\n".join(lines),
            hint,
        )
