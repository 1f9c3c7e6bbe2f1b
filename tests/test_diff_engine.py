"""Diff engine API: inputs, errors, serialisation, renderers, caching behaviour."""

from __future__ import annotations

import json

import pytest

from embeddings.cache import CachedEmbedder, MemoryVectorStore
from embeddings.hashing import HashingEmbedder
from tests.support.factories import requirement as _req
from tests.support.golden_cases import load_case, run_case
from tracker.diff import ENGINE_VERSION, DiffResult, Kind, diff_versions, render_html, render_text
from tracker.domain.errors import InvalidInputError
from tracker.domain.model import ParsedVersion


def test_accepts_parsed_versions_and_records_engine() -> None:
    old = ParsedVersion(parser="t", parser_version="1", title="t", requirements=(_req("A-1", "Log events."),))
    new = ParsedVersion(
        parser="t", parser_version="1", title="t", requirements=(_req("A-1", "Log all events."),)
    )
    result = diff_versions(old, new, HashingEmbedder(), source="s", old_version="1", new_version="2")
    data = result.to_json_dict()
    assert data["engine"] == {
        "name": "tracker.diff",
        "version": ENGINE_VERSION,
        "model": "hashing-bow-v1:256",
    }
    assert list(data) == ["source", "old_version", "new_version", "engine", "summary", "changes"]
    assert list(data["changes"][0]) == [
        "kind", "old_ids", "new_ids", "substantive", "tags", "confidence", "reasons", "redline"
    ]  # fmt: skip
    assert data["summary"]["modified"] == 1 and set(data["summary"]) == {k.value for k in Kind}


def test_duplicate_keys_are_a_clear_error() -> None:
    with pytest.raises(InvalidInputError, match="twice"):
        diff_versions((_req("A-1", "x"), _req("a-1", "y")), ())


def test_non_requirements_are_rejected() -> None:
    with pytest.raises(InvalidInputError, match="expected Requirement"):
        diff_versions(("A-1",), ())  # type: ignore[arg-type]


def test_empty_versions() -> None:
    assert diff_versions((), ()).changes == ()
    result = diff_versions((), (_req("A-1", "x"),))
    assert [c.kind for c in result.changes] == [Kind.ADDED]


def test_json_round_trip() -> None:
    result = run_case("similarity")
    data = json.loads(json.dumps(result.to_json_dict()))
    again = DiffResult.from_json_dict(data)
    assert again.to_json_dict() == result.to_json_dict()
    assert render_text(again) == render_text(result)


def test_deterministic() -> None:
    assert run_case("similarity").to_json_dict() == run_case("similarity").to_json_dict()


def test_renderers() -> None:
    result = run_case("modified")
    text = render_text(result)
    assert "MODIFIED  OB-1  [substantive; obligation_strengthened]" in text
    assert "[-should-]{+shall+}" in text
    page = render_html(result)
    assert page.startswith("<!DOCTYPE html>") and "<del>should</del><ins>shall</ins>" in page
    hostile = diff_versions((_req("X-1", "a <script>"),), (_req("X-1", "b <script>"),))
    assert "<script>" not in render_html(hostile)
    assert "UNCHANGED" not in render_text(run_case("noise"))
    assert "UNCHANGED" in render_text(run_case("noise"), include_unchanged=True)


def test_only_texts_that_need_similarity_are_embedded_once() -> None:
    old, new, _ = load_case("similarity")
    inner = HashingEmbedder()
    cached = CachedEmbedder(inner, MemoryVectorStore())
    first = diff_versions(old, new, cached)
    # Unchanged same-key pairs never need a vector: fewer texts than requirements.
    assert 0 < inner.texts_encoded < len(old) + len(new)
    calls = inner.calls
    second = diff_versions(old, new, cached)
    assert inner.calls == calls  # everything came from the store
    assert first.to_json_dict() == second.to_json_dict()


def test_lexical_only_mode_has_no_model() -> None:
    result = run_case("lineage")
    assert result.model_id is None
    assert "none (lexical only)" in render_text(result)


def test_descriptive_may_is_not_an_obligation_change() -> None:
    """Dropping "a model may leak data" or an imperative list gaining "may" is no weakening or
    strengthening; moving to or from should/shall is."""
    old = (
        _req("P-1", "Enforce least privilege. A compromised model may still leak data."),
        _req("P-2", "Operators may review the logs monthly."),
    )
    new = (
        _req("P-1", "Enforce least privilege for every tool the model can call."),
        _req("P-2", "Operators should review the logs monthly."),
    )
    changes = {c.old_ids[0]: c for c in diff_versions(old, new).changes}
    assert not {t.value for t in changes["P-1"].tags} & {"obligation_weakened", "obligation_strengthened"}
    assert "obligation_strengthened" in {t.value for t in changes["P-2"].tags}
