"""The mapper on small hand-made controls, with a tiny deterministic embedder."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from embeddings.protocol import Vectors
from tests.support.mapping import CONTROLS, BagOfWordsEmbedder
from tracker.domain.model import Link, Requirement
from tracker.mapping.documents import MapQuery, controls_from_requirements, queries_from_requirements
from tracker.mapping.mapper import UNSUPERVISED, Mapper, MapperConfig
from tracker.mapping.scoring import calibrate, suggest_relationship
from tracker.mapping.types import Control
from tracker.mapping.types import Relationship as R


@pytest.fixture(scope="module")
def mapper() -> Mapper:
    return Mapper(CONTROLS, BagOfWordsEmbedder())


def top(mapper: Mapper, text: str, k: int = 3) -> list[str]:
    (ranking,) = mapper.rank([MapQuery("Q-1", text)], top_k=k)
    return [c.control_id for c in ranking.candidates]


def test_obvious_matches_come_first(mapper: Mapper) -> None:
    assert top(mapper, "Backups of information are conducted")[0] == "CP-9"
    assert top(mapper, "Physical devices are inventoried")[0] in {"CM-8", "PE-3"}
    assert top(mapper, "Incidents are handled")[0] == "IR-4"


def test_enhancements_roll_up_into_their_base(mapper: Mapper) -> None:
    assert [u.id for u in mapper.units if u.id.startswith("AC-2")] == ["AC-2"]
    (ranking,) = mapper.rank([MapQuery("Q", "Automated mechanisms audit account creation")], top_k=10)
    ids = [c.control_id for c in ranking.candidates]
    assert "AC-2(4)" not in ids and ids[0] == "AC-2"
    assert ranking.candidates[0].via in {("AC-2(4)",), ("AC-2(1)",)}


def test_roll_up_can_be_switched_off() -> None:
    flat = Mapper(CONTROLS, BagOfWordsEmbedder(), MapperConfig(roll_up=False))
    assert len(flat.units) == len(CONTROLS)
    orphan = Mapper([CONTROLS[2]], None)  # an enhancement without its base is its own unit
    assert [u.id for u in orphan.units] == ["AC-2(1)"]


def test_policy_requirements_reach_the_policy_and_procedures_controls(mapper: Mapper) -> None:
    assert set(top(mapper, "Organizational cybersecurity policy is established", k=2)) == {"AC-1", "CP-1"}


def test_scores_are_calibrated_into_unit_interval_and_ordered(mapper: Mapper) -> None:
    (ranking,) = mapper.rank([MapQuery("Q", "System backup of information")], top_k=len(mapper.units))
    scores = [c.score for c in ranking.candidates]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores == sorted(scores, reverse=True)
    assert [c.rank for c in ranking.candidates] == list(range(1, len(scores) + 1))
    names = {name for name, _ in ranking.candidates[0].signals}
    assert names == {"lexical", "dense", "parts", "feedback", "prior", "policy"}
    assert ranking.to_dict()["candidates"][0] == {  # type: ignore[index]
        "control_id": "CP-9",
        "score": round(scores[0], 4),
        "relationship": ranking.candidates[0].relationship.value,
        "reason": UNSUPERVISED,
    }


def test_lexical_only_mapper_works_without_a_model() -> None:
    lexical = Mapper(CONTROLS, None)
    (ranking,) = lexical.rank([MapQuery("Q", "backups")], top_k=2)
    assert ranking.candidates[0].control_id == "CP-9"
    assert {name for name, _ in ranking.candidates[0].signals} == {"lexical", "prior", "policy"}


class RecordingEmbedder(BagOfWordsEmbedder):
    """Keeps every text it is asked to encode, call by call."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[str]] = []

    def encode(self, texts: Sequence[str]) -> Vectors:
        self.batches.append(list(texts))
        return super().encode(texts)


def test_target_texts_are_embedded_once_per_mapper() -> None:
    embedder = RecordingEmbedder()
    mapper = Mapper(CONTROLS, embedder)
    assert len(embedder.batches) == 1 and len(embedder.batches[0]) == len(CONTROLS)  # no parts yet
    queries = [MapQuery("A", "backup"), MapQuery("B", "inventory")]
    mapper.rank(queries)
    mapper.rank(queries)
    texts = [t for batch in embedder.batches[1:] for t in batch if t not in ("backup", "inventory")]
    assert len(texts) == len(set(texts))  # each part sentence embedded at most once
    assert embedder.batches[-1] == ["backup", "inventory"]  # the second ranking embeds only the queries


def test_part_sentences_are_embedded_only_for_the_pool_and_rankings_do_not_depend_on_the_batch() -> None:
    embedder = RecordingEmbedder()
    mapper = Mapper(CONTROLS, embedder, MapperConfig(parts_pool=1))
    alone = mapper.rank([MapQuery("A", "backup of system data")])[0]
    parts = [t for batch in embedder.batches[1:] for t in batch if t != "backup of system data"]
    owner = {u.key: u for u in mapper.units}[alone.candidates[0].key]
    assert parts and all(p in f"{owner.description} {owner.guidance}" for p in parts)
    together = mapper.rank([MapQuery("B", "account management"), MapQuery("A", "backup of system data")])[1]
    # float32 products round differently by batch shape, so compare to a tolerance
    assert [c.control_id for c in together.candidates] == [c.control_id for c in alone.candidates]
    assert [c.score for c in together.candidates] == pytest.approx([c.score for c in alone.candidates])


def test_edge_cases() -> None:
    assert Mapper(CONTROLS, None).rank([]) == []
    (empty,) = Mapper([], None).rank([MapQuery("Q", "anything")])
    assert empty.candidates == ()
    with pytest.raises(ValueError, match="share the key"):
        Mapper([Control("AC-1"), Control("AC-01")], None)


def test_declared_related_links_lift_the_neighbours_of_strong_candidates() -> None:
    linked = [
        Control(
            "X-1",
            "System Backup",
            "Conduct backups of user-level and system-level information.",
            links=("X-3",),
        ),
        Control("X-2", "Media Rotation", "Rotate storage media to an alternate site."),
        Control("X-3", "Media Storage", "Rotate storage media to an alternate site."),
        Control("X-4", "Visitor Records", "Keep records of visitors to the facility."),
    ]
    query = [MapQuery("Q", "Backups of information are rotated to storage media")]
    plain = Mapper(linked, None, MapperConfig(prior=0.0, related=0.0))
    (tied,) = plain.rank(query, top_k=3)
    assert [c.control_id for c in tied.candidates] == ["X-1", "X-2", "X-3"]  # tie on text
    lifted = plain.reconfigured(MapperConfig(prior=0.0, related=0.5))
    assert lifted.lexical is plain.lexical  # same index, nothing rebuilt
    (ranking,) = lifted.rank(query, top_k=3)
    assert [c.control_id for c in ranking.candidates] == ["X-1", "X-3", "X-2"]  # linked from the winner
    assert "related" in {name for name, _ in ranking.candidates[0].signals}
    assert plain.related_graph.nnz == 2  # read either way
    with pytest.raises(ValueError, match="shape the index"):
        plain.reconfigured(MapperConfig(roll_up=False))


@pytest.mark.parametrize(
    ("score", "cosine", "cover_q", "cover_c", "expected"),
    [
        (0.01, 0.99, 1.0, 1.0, R.NO_RELATIONSHIP),
        (0.9, 0.95, 0.9, 0.9, R.EQUAL),
        (0.6, 0.6, 0.9, 0.2, R.SUBSET),  # the short requirement is echoed inside a broad control
        (0.6, 0.6, 0.3, 0.8, R.SUPERSET),
        (0.6, 0.6, 0.5, 0.5, R.INTERSECTS),
    ],
)
def test_relationship_suggestion(
    score: float, cosine: float, cover_q: float, cover_c: float, expected: R
) -> None:
    assert suggest_relationship(score, cosine, cover_q, cover_c) is expected


def test_calibration_is_monotone_and_bounded() -> None:
    values = [calibrate(x) for x in (-5.0, 0.0, 2.0, 3.0, 4.0, 10.0)]
    assert values == sorted(values) and 0.0 < values[0] < values[-1] < 1.0


def test_documents_from_a_requirement_tree() -> None:
    reqs = [
        Requirement(ident="AC", key="AC", title="Access Control", kind="family"),
        Requirement(
            ident="AC-2", key="AC-2", title="Account Management", statement="Manage accounts.", parent="AC"
        ),
        Requirement(
            ident="AC-2(1)",
            key="AC-2.1",
            title="Automated",
            statement="Automate it.",
            parent="AC-2",
            kind="enhancement",
            links=(Link("related", "AC-3"),),
        ),
        Requirement(ident="AC-2(2)", key="AC-2.2", title="Gone", parent="AC-2", withdrawn=True),
        Requirement(
            ident="AC-3", key="AC-3", title="Access Enforcement", statement="Enforce access.", parent="AC"
        ),
    ]
    controls = controls_from_requirements(reqs)
    assert [(c.id, c.family, c.parent, c.links) for c in controls] == [
        ("AC-2", "Access Control", None, ()),
        ("AC-2(1)", "Access Control", "AC-2", ("AC-3",)),
        ("AC-3", "Access Control", None, ()),
    ]
    queries = queries_from_requirements(reqs, only=["AC-02"])
    assert queries == [MapQuery("AC-2", "Account Management. Manage accounts.", ("Access Control",), "AC-2")]
    mapper = Mapper(controls, None)
    assert mapper.prior[mapper.unit_index["AC-3"]] > 0  # declared incoming link


@pytest.mark.slow
def test_real_model_finds_a_paraphrase() -> None:
    from embeddings.cache import CachedEmbedder, MemoryVectorStore
    from embeddings.sentence_transformer import SentenceTransformerEmbedder

    mapper = Mapper(CONTROLS, CachedEmbedder(SentenceTransformerEmbedder(), MemoryVectorStore()))
    assert top(mapper, "Copies of data are made regularly so it can be restored")[0] == "CP-9"
    assert top(mapper, "Security events are responded to and contained")[0] == "IR-4"


def test_candidates_become_reviewable_machine_mappings(mapper: Mapper) -> None:
    (ranking,) = mapper.rank([MapQuery("REQ-9", "Backups of information are conducted")], top_k=3)
    suggested = ranking.as_mappings(min_score=0.0, source_set="std@2", target_set="org")
    assert suggested and suggested[0].target == "CP-9" and suggested[0].source == "REQ-9"
    assert all(m.needs_review and m.provenance.value == "machine" for m in suggested)
    assert suggested[0].confidence == pytest.approx(ranking.candidates[0].score)


def test_query_carries_the_start_of_the_guidance() -> None:
    """CSF 2.0-style implementation examples join the query; labels and markers do not."""
    from tracker.mapping.documents import guidance_excerpt, query_text

    req = Requirement(
        ident="ID.AM-01",
        key="ID.AM-1",
        statement="Inventories of hardware managed by the organization are maintained",
        guidance="Examples:\n1st: 1st Party Risk\nEx1: Maintain inventories for all types of hardware\n"
        "Ex2: Constantly monitor networks to detect new hardware",
    )
    assert query_text(req) == (
        "Inventories of hardware managed by the organization are maintained. "
        "Maintain inventories for all types of hardware. Constantly monitor networks to detect new hardware."
    )
    assert query_text(req, guidance_chars=0) == req.statement
    long = guidance_excerpt("word " * 500, limit=100)
    assert len(long) <= 100 and not long.endswith(" ")
