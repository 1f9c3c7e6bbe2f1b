"""Semantic diff: align two versions' requirements and classify every change, with reasons.

Pure core: requirements in, :class:`DiffResult` out; storage and the CLI call it.
"""

from tracker.diff.engine import diff_versions
from tracker.diff.render import render_html, render_text
from tracker.diff.types import ENGINE_VERSION, Change, DiffResult, Kind, Tag

__all__ = [
    "ENGINE_VERSION",
    "Change",
    "DiffResult",
    "Kind",
    "Tag",
    "diff_versions",
    "render_html",
    "render_text",
]
