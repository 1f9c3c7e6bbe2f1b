"""BM25 and the light stemmer: the lexical half of the mapper."""

from __future__ import annotations

import numpy as np
import pytest

from tracker.mapping.bm25 import BM25Index
from tracker.mapping.tokens import stem, tokens


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("inventoried", "inventory"),
        ("policies", "policy"),
        ("procedures", "procedure"),
        ("configured", "configuration"),
        ("authenticate", "authentication"),
        ("monitoring", "monitored"),
        ("devices", "device"),
        ("processes", "process"),
    ],
)
def test_stemmer_conflates_inflections(a: str, b: str) -> None:
    assert stem(a) == stem(b)


def test_tokens_drop_stop_words_and_parameter_boilerplate() -> None:
    text = "Review the policy [Assignment: organization-defined frequency]."
    assert tokens(text) == [stem("review"), stem("policy"), stem("organization"), stem("frequency")]
    assert tokens("multi-factor") == [stem("multi"), stem("factor")]


def test_bm25_ranks_the_document_with_the_rare_term_first() -> None:
    index = BM25Index(["system backup", "system audit", "system access", "system backup backup recovery"])
    scores = index.scores(["backup of the system"])[0]
    assert scores[0] > scores[1] and scores[3] > scores[1]
    assert scores[1] == pytest.approx(scores[2])  # "system" alone weighs the same everywhere


def test_bm25_length_normalisation_prefers_the_focused_document() -> None:
    index = BM25Index(["incident response plan", "incident " + " ".join(f"filler{i}" for i in range(40))])
    scores = index.scores(["incident"])[0]
    assert scores[0] > scores[1]


def test_bm25_unknown_terms_and_empty_inputs_score_zero() -> None:
    index = BM25Index(["access control"])
    assert index.scores(["zebra"]).tolist() == [[0.0]]
    assert index.scores([]).shape == (0, 1)
    assert BM25Index([]).scores(["x"]).shape == (1, 0)


def test_coverage_is_the_idf_weighted_share_of_query_terms_found() -> None:
    index = BM25Index(["physical access", "media sanitization", "physical media"])
    cover = index.coverage(["physical media"])[0]
    assert cover[2] == pytest.approx(1.0)
    assert 0 < cover[0] < 1 and 0 < cover[1] < 1
    assert np.all(cover <= 1.0)
