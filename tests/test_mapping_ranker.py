"""The learned ranker: falls back with no labels, learns from labelled pairs, stores its model
with provenance, and keeps one organisation's decisions out of another's rankings."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine

from tests.support.api_world import client_for
from tests.support.factories import parsed_version, requirement
from tests.support.mapping import CONTROLS, BagOfWordsEmbedder
from tracker.domain.keys import normalise_key
from tracker.domain.model import Source
from tracker.mapping.documents import MapQuery
from tracker.mapping.mapper import UNSUPERVISED, Mapper
from tracker.mapping.ranker import MIN_POSITIVES, LearnedRanker, Provenance, Weights
from tracker.mapping.training import LabelledPair, TrainingSet, labelled_pairs
from tracker.mapping.types import Mapping
from tracker.mapping.types import Provenance as Who
from tracker.mapping.types import ReviewState as State
from tracker.review.learning import learned_mapper
from tracker.storage.api_keys import ApiKeys, Scope
from tracker.storage.archive import Archive
from tracker.storage.controls import ControlStore
from tracker.storage.mappings import MappingStore
from tracker.storage.orgs import OrgStore
from tracker.storage.ranker_models import RankerModelStore

# Requirements in words the controls never use: only labels can tie them to their controls.
# Themes are interleaved so that every cross-fitting fold holds some paraphrases of each.
THEMES = {
    "CP-9": [
        "Spare copies of the ledger are kept offsite",
        "Nightly copies of payroll records are stored in a vault",
        "Copies of customer records are kept in a second building",
        "Duplicate copies of the ledger survive a fire",
    ],
    "PE-3": [
        "Badge readers guard the doors of the server room",
        "Visitors are escorted through the doors of the server room",
        "Locks on the doors of the data hall are checked",
        "Doors of the server room stay locked at night",
    ],
    "SC-7": [
        "Traffic from the internet passes a firewall",
        "The firewall filters internet traffic",
        "Internet gateways run a firewall",
    ],
}


def _interleaved() -> list[tuple[str, str, str]]:
    rows = [(target, texts[n]) for n in range(4) for target, texts in THEMES.items() if n < len(texts)]
    return [(f"T-{i:02d}", text, target) for i, (target, text) in enumerate(rows, start=1)]


LABELLED = _interleaved()
NEW = "Copies of the payroll ledger are kept in a vault"
FIREWALL = "A firewall sits between the office and the internet"
SET = "themes@1"


def _queries() -> dict[tuple[str, str], MapQuery]:
    return {(SET, normalise_key(ident)): MapQuery(ident, text) for ident, text, _ in LABELLED}


def _pairs(origin: str = "reviewer") -> list[LabelledPair]:
    return [
        LabelledPair(SET, normalise_key(ident), normalise_key(target), True, origin)
        for ident, _, target in LABELLED
    ]


def top(mapper: Mapper, text: str, ident: str = "Q-1") -> list[str]:
    (ranking,) = mapper.rank([MapQuery(ident, text)], top_k=3)
    return [c.control_id for c in ranking.candidates]


def test_with_too_few_labels_the_unsupervised_fusion_ranks() -> None:
    mapper = Mapper(CONTROLS, BagOfWordsEmbedder())
    few = TrainingSet.build(_pairs()[: MIN_POSITIVES - 1], _queries())
    assert LearnedRanker.fit(mapper, few) is None
    (ranking,) = mapper.rank([MapQuery("Q", NEW)], top_k=2)
    assert all(c.reason == UNSUPERVISED for c in ranking.candidates)


def test_labels_teach_what_the_texts_alone_cannot() -> None:
    mapper = Mapper(CONTROLS, BagOfWordsEmbedder())
    assert top(mapper, FIREWALL)[0] != "SC-7"  # SC-7's text says neither "firewall" nor "internet"
    training = TrainingSet.build(_pairs(), _queries())
    ranker = LearnedRanker.fit(mapper, training)
    assert ranker is not None
    mapper.ranker = ranker
    (ranking,) = mapper.rank([MapQuery("Q", NEW)], top_k=len(mapper.units))
    assert ranking.candidates[0].control_id == "CP-9"
    assert top(mapper, FIREWALL)[0] == "SC-7"
    scores = [c.score for c in ranking.candidates]
    assert scores == sorted(scores, reverse=True) and 0.0 <= scores[-1] <= scores[0] <= 1.0
    reason = ranking.candidates[0].reason
    assert reason == f"learned ranker trained on {len(LABELLED)} pairs from {len(LABELLED)} reviewer {SET}"
    # the model is plain numbers: it survives JSON and ranks the same
    again = Weights.from_json(ranker.weights.to_json())
    assert Provenance.from_json(ranker.provenance.to_json()) == ranker.provenance
    mapper.ranker = LearnedRanker.fit(mapper, training, weights=again)
    assert top(mapper, FIREWALL)[0] == "SC-7"


def test_a_rejection_is_a_negative_and_a_persons_decision_outranks_a_publishers() -> None:
    published = Mapping("T-1", "CP-9", source_set=SET)
    rejected = Mapping("T-1", "CP-9", provenance=Who.REVIEWER, review=State.REJECTED, source_set=SET)
    guess = Mapping("T-2", "CP-9", provenance=Who.MACHINE, review=State.PROPOSED, source_set=SET)
    enhancement = Mapping("T-3", "AC-2(1)", source_set=SET)
    pairs = labelled_pairs(
        [(published, True), (rejected, False), (guess, False), (enhancement, True)],
        [normalise_key(k) for k in ("CP-9", "AC-2", "AC-2(1)")],
        parents={normalise_key("AC-2(1)"): normalise_key("AC-2")},
    )
    assert [(p.source_key, p.target_key, p.positive, p.origin) for p in pairs] == [
        (normalise_key("T-1"), normalise_key("CP-9"), False, "reviewer"),
        # an enhancement's label counts for its base control
        (normalise_key("T-3"), normalise_key("AC-2"), True, "published"),
    ]
    assert pairs[0].weight > pairs[1].weight


# --- on a database: stored models and organisations kept apart --------------------------------


def _world(engine: Engine) -> dict[str, str]:
    Archive(engine).add_version(
        Source(slug="themes", title="Themes", publisher="Test"),
        "1",
        [("themes.md", b"themes")],
        parsed_version(*(requirement(ident, text) for ident, text, _ in LABELLED)),
        published=date(2025, 1, 1),
    )
    keys = {}
    for org in ("acme", "globex"):
        org_id = OrgStore(engine).create(org, org.title()).id
        ControlStore(engine).import_controls(org, CONTROLS, origin="test")
        decided = [
            Mapping(ident, target, provenance=Who.REVIEWER, source_set=SET, target_set=f"org:{org}")
            for ident, _, target in LABELLED
        ]
        MappingStore(engine).add_mappings(org, decided, origin="test")
        keys[org] = ApiKeys(engine).create(Scope.WRITE, org_id, f"{org} reviewer")[1]
    return keys


def _ranking(engine: Engine, org: str, ident: str = "T-01") -> list[tuple[str, float, str]]:
    mapper = learned_mapper(
        engine,
        org,
        ControlStore(engine).controls(org),
        BagOfWordsEmbedder(),
        target_set=f"org:{org}",
        query_set=SET,
    )
    text = next(t for i, t, _ in LABELLED if i == ident)
    (ranking,) = mapper.rank([MapQuery(ident, text)], top_k=len(mapper.units))
    return [(c.control_id, round(c.score, 6), c.reason) for c in ranking.candidates]


def test_no_labels_no_model(engine: Engine) -> None:
    OrgStore(engine).create("solo", "Solo")
    ControlStore(engine).import_controls("solo", CONTROLS, origin="test")
    mapper = learned_mapper(engine, "solo", CONTROLS, BagOfWordsEmbedder(), target_set="org:solo")
    assert mapper.ranker is None
    assert RankerModelStore(engine).models("solo", "org:solo") == []


def test_the_model_is_stored_with_its_provenance_and_retrained_when_pairs_change(engine: Engine) -> None:
    _world(engine)
    first = _ranking(engine, "acme", "T-02")
    (model,) = RankerModelStore(engine).models("acme", "org:acme")
    assert (model.pairs, model.positives, model.queries) == (len(LABELLED), len(LABELLED), len(LABELLED))
    assert model.origins == {f"reviewer {SET}": len(LABELLED)} and model.trained_at
    assert first[0][2] == "confirmed by a reviewer" and first[1][2] == model.reason
    assert _ranking(engine, "acme", "T-02") == first  # same pairs: the stored model, no new row
    assert len(RankerModelStore(engine).models("acme", "org:acme")) == 1
    MappingStore(engine).add_mappings(
        "acme",
        [Mapping("T-02", "IR-4", provenance=Who.REVIEWER, source_set=SET, target_set="org:acme")],
        origin="test",
    )
    _ranking(engine, "acme", "T-02")
    models = RankerModelStore(engine).models("acme", "org:acme")
    assert len(models) == 2 and models[1].pairs == len(LABELLED) + 1
    assert models[1].fingerprint != models[0].fingerprint


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_correction_through_the_api_changes_that_organisations_next_ranking_only(engine: Engine) -> None:
    keys = _world(engine)
    before = {org: _ranking(engine, org) for org in ("acme", "globex")}
    assert before["acme"] == before["globex"]
    assert before["acme"][0][:2] == ("CP-9", 1.0)
    stored = MappingStore(engine).mappings("acme")
    mapping_id = next(s.id for s in stored if s.mapping.source == "T-01" and s.mapping.target == "CP-9")
    with client_for(engine) as client:
        answer = client.patch(
            f"/v1/orgs/acme/mappings/{mapping_id}",
            json={"review": "rejected", "note": "a vault copy is not our backup control"},
            headers={"Authorization": f"Bearer {keys['acme']}"},
        )
        assert answer.status_code == 200, answer.text
    after = {org: _ranking(engine, org) for org in ("acme", "globex")}
    assert after["globex"] == before["globex"]
    assert after["acme"] != before["acme"]
    assert after["acme"][0][0] != "CP-9"
    assert after["acme"][-1] == ("CP-9", 0.0, "rejected by a reviewer")
    acme_models = RankerModelStore(engine).models("acme", "org:acme")
    assert len(acme_models) == 2 and acme_models[1].positives == len(LABELLED) - 1
    assert len(RankerModelStore(engine).models("globex", "org:globex")) == 1


def test_a_rejection_on_the_review_page_changes_that_organisations_next_ranking_only(
    engine: Engine,
) -> None:
    """The same correction as above, taken the way a reviewer takes it: the page's form."""
    from tests.support.pages_world import sign_in

    keys = _world(engine)
    before = {org: _ranking(engine, org) for org in ("acme", "globex")}
    stored = MappingStore(engine).mappings("acme")
    mapping_id = next(s.id for s in stored if s.mapping.source == "T-01" and s.mapping.target == "CP-9")
    with client_for(engine, session_secret="s" * 32) as client:
        csrf = sign_in(client, keys["acme"], name="Rita")
        answer = client.post(
            f"/ui/mappings/{mapping_id}/review",
            data={"state": "rejected", "csrf": csrf, "reason": "not our backup control"},
            follow_redirects=False,
        )
        assert answer.status_code in (200, 303), answer.text
    after = {org: _ranking(engine, org) for org in ("acme", "globex")}
    assert after["globex"] == before["globex"]
    assert after["acme"][0][0] != "CP-9"
    assert after["acme"][-1] == ("CP-9", 0.0, "rejected by a reviewer")


def test_a_gap_lists_the_learned_rankers_suggestions_with_their_reason() -> None:
    from tracker.diff.types import Change, Kind
    from tracker.impact.rules import Action, impact

    mapper = Mapper(CONTROLS, BagOfWordsEmbedder())
    mapper.ranker = LearnedRanker.fit(mapper, TrainingSet.build(_pairs(), _queries()))
    assert mapper.ranker is not None
    (item,) = impact(
        [Change(Kind.ADDED, (), ("NEW-1",))],
        [],
        mapper=mapper,
        queries={normalise_key("NEW-1"): MapQuery("NEW-1", FIREWALL)},
    )
    assert item.action is Action.GAP and item.controls[0].control_id == "SC-7"
    assert all(c.needs_review and mapper.ranker.reason in c.reason for c in item.controls)
    # below the floor a candidate is no relationship, never listed as the gap's cover
    assert all(c.score >= 0.05 for c in item.controls)


def test_impact_chains_published_crosswalks_to_the_organisations_controls(engine: Engine) -> None:
    from tracker.impact.service import mapping_sets
    from tracker.mapping.types import Relationship as R

    OrgStore(engine).create("acme", "Acme")
    ControlStore(engine).import_controls("acme", CONTROLS, origin="test")
    MappingStore(engine).add_mappings(
        None,
        [
            Mapping("GV.OC-01", "ID.BE-2", R.SUBSET, source_set="csf@2.0", target_set="csf@1.1"),
            Mapping("ID.BE-2", "CP-9", R.SUBSET, source_set="csf@1.1", target_set="sp800-53@5"),
            Mapping("ID.BE-3", "CP-9", R.INTERSECTS, source_set="csf@1.1", target_set="sp800-53@5"),
        ],
        origin="test",
    )
    sets = mapping_sets(engine, "acme", CONTROLS, "csf", "1.1", "2.0")
    (derived,) = [m for m in sets.new if m.source == "GV.OC-01"]
    assert (derived.target, derived.relationship, derived.review) == ("CP-9", R.SUBSET, State.PROPOSED)
    assert derived.via == ("csf@1.1:ID.BE-2",) and "2 crosswalk hops" in derived.note
    # read forwards only: two requirements sharing CP-9 are not chained to each other
    assert {m.source for m in sets.old} == {"ID.BE-2", "ID.BE-3"}


def test_organisations_without_labels_of_their_own_share_one_model(engine: Engine) -> None:
    _world(engine)  # acme and globex: each with reviewer labels of its own
    for org in ("initech", "hooli"):
        OrgStore(engine).create(org, org.title())
        ControlStore(engine).import_controls(org, CONTROLS, origin="test")
    published = [
        Mapping(ident, target, source_set=SET, target_set="catalog") for ident, _, target in LABELLED
    ]
    MappingStore(engine).add_mappings(None, published, origin="test")
    first, second = _ranking(engine, "initech"), _ranking(engine, "hooli")
    assert first == second and first[0][2].startswith("learned ranker trained on")
    (shared,) = RankerModelStore(engine).models(None, "")
    assert shared.origins == {f"published {SET}": len(LABELLED)}
    # acme decided the same pairs itself: its reviewers' decisions stand in for the published
    # ones, in a model of its own
    _ranking(engine, "acme")
    acme = RankerModelStore(engine).models("acme", "org:acme")[-1]
    assert acme.origins == {f"reviewer {SET}": len(LABELLED)}
    assert len(RankerModelStore(engine).models(None, "")) == 1
