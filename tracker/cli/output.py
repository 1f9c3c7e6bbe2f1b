"""Printing results as text for people or JSON for scripts (``--format json``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from enum import Enum
from typing import Any, TypeVar

import click

T = TypeVar("T")

FORMAT_OPTION = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for scripts",
)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=_default))


def emit(fmt: str, data: Any, text: Callable[[], str]) -> None:
    if fmt == "json":
        emit_json(data)
    else:
        click.echo(text())


def table(rows: Iterable[Iterable[Any]], headers: Iterable[str]) -> str:
    """A plain aligned table."""
    head = [str(h) for h in headers]
    body = [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in body]
    return "\n".join(lines)


@contextmanager
def progress(fmt: str, items: list[T], label: str, show: Callable[[T | None], str]) -> Iterator[Iterable[T]]:
    """A progress bar on a terminal; silent under ``--format json`` or when piped."""
    if fmt == "json" or not sys.stderr.isatty():
        yield items
        return
    with click.progressbar(items, label=label, item_show_func=show, file=sys.stderr) as bar:
        yield bar
