"""Documents written from one another: calibrated equal/subset scores, the registry's
``derived_from``, and `tracker family` on the demo samples of the UK Code and ETSI.

The provision texts below are written for these tests in the shape of the UK Code of
Practice (numbered provisions under principles) and of ETSI TS 104 223 (clause-numbered
provisions written from the Code); they are not copied from either document.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from tracker.cli.main import cli
from tracker.cli.progress import EmbeddingProgress
from tracker.domain.errors import InvalidInputError, NotFoundError
from tracker.mapping.documents import MapQuery
from tracker.mapping.mapper import Mapper
from tracker.mapping.scoring import agreement, calibrate, pair_score, suggest_relationship
from tracker.mapping.types import Control
from tracker.mapping.types import Relationship as R
from tracker.sources import registry as registry_mod

MIRROR = Path(__file__).resolve().parent.parent / "data" / "mirror"

CODE = {
    "1.1": "Organisations shall include AI security threats in staff security training.",
    "2.1": "Developers shall record the security requirements of each AI system before it is built.",
    "3.1": "Developers shall keep an inventory of models, datasets and prompts.",
    "3.2": "Access to model weights shall be limited to named roles.",
    "4.1": "System Operators shall delete model weights and training data they no longer need.",
}
ETSI = {
    # 1.1 near verbatim (spelling and one word changed)
    "5.1.1-1": "Organizations shall include AI security threats in their staff security training.",
    # 2.1 reworded
    "5.1.2-1": "Before an AI system is built, developers shall document its security requirements.",
    # 3.1 extended: the Code's provision plus more
    "5.2.1-1": (
        "Developers shall keep an inventory of models, datasets and prompts, and shall record "
        "for each item its owner, its origin and the date it was last reviewed."
    ),
    # 3.2 verbatim
    "5.2.2-1": "Access to model weights shall be limited to named roles.",
    "5.3.1-1": "System operators shall monitor the behaviour of deployed models for signs of attack.",
    "5.3.2-1": "Developers shall publish a vulnerability disclosure policy for their AI systems.",
    "5.4.1-1": "End users should be told which data the system collects about them.",
}


def test_agreement_orders_verbatim_reworded_contained_unrelated() -> None:
    verbatim = pair_score(1.5, 0.99, 1.0, 1.0)
    reworded = pair_score(1.5, 0.92, 0.8, 0.8)
    extended = pair_score(1.5, 0.78, 1.0, 0.4)
    unrelated = pair_score(1.5, 0.74, 0.26, 0.25)  # one document's vocabulary: cosine alone misleads
    assert verbatim > 0.95 and verbatim > reworded > unrelated
    assert extended > 0.5 > unrelated
    assert unrelated == pytest.approx(calibrate(1.5))  # the evidence decides when the text disagrees
    assert agreement(None, 1.0, 0.4) == pytest.approx(0.4**0.5)  # lexical only: overlap both ways
    for t in (-2.0, 0.0, 4.0, 8.0):  # never below the calibrated evidence
        assert pair_score(t, 0.1, 0.0, 0.0) >= calibrate(t)
    # a provision wholly inside its slightly longer rewrite, read in both directions
    assert suggest_relationship(0.99, 0.95, 1.0, 0.7) is R.SUBSET
    assert suggest_relationship(0.99, 0.95, 0.7, 1.0) is R.SUPERSET
    assert suggest_relationship(0.99, 0.95, 0.85, 0.9) is R.EQUAL


def test_lexical_only_mapper_scores_a_verbatim_copy_as_equal() -> None:
    controls = [Control(id=k, description=v) for k, v in ETSI.items()]
    (ranking,) = Mapper(controls, None).rank([MapQuery("3.2", CODE["3.2"])], top_k=3)
    best = ranking.candidates[0]
    assert (best.control_id, best.relationship) == ("5.2.2-1", R.EQUAL) and best.score > 0.95


@pytest.mark.slow
def test_the_model_reads_verbatim_reworded_and_extended_provisions() -> None:
    from embeddings.cache import CachedEmbedder, MemoryVectorStore
    from embeddings.sentence_transformer import SentenceTransformerEmbedder

    controls = [Control(id=k, description=v) for k, v in ETSI.items()]
    mapper = Mapper(
        controls, CachedEmbedder(SentenceTransformerEmbedder(precision="bf16"), MemoryVectorStore())
    )
    rankings = mapper.rank([MapQuery(k, v) for k, v in CODE.items()], top_k=3)
    best = {r.requirement_id: r.candidates[0] for r in rankings}
    assert best["1.1"].control_id == "5.1.1-1" and best["1.1"].relationship is R.EQUAL
    assert best["3.2"].control_id == "5.2.2-1" and best["3.2"].relationship is R.EQUAL
    assert best["2.1"].control_id == "5.1.2-1" and best["2.1"].relationship in (R.EQUAL, R.INTERSECTS)
    assert best["3.1"].control_id == "5.2.1-1" and best["3.1"].relationship is R.SUBSET
    assert min(best[k].score for k in ("1.1", "3.2")) > 0.95
    unrelated = max(c.score for r in rankings for c in r.candidates[1:])
    assert best["1.1"].score > best["2.1"].score > unrelated
    assert best["3.1"].score > 0.5 > unrelated


def _registry(extra: str) -> registry_mod.Registry:
    base = """
[defaults]
schedule = "every 6h"
kind = "generic"
format = "html-outline"
select = "main"
homepage = "https://example.org/"
publisher = "P"
[[source]]
slug = "code"
title = "Code"
url = "https://example.org/code"
[[source]]
slug = "ts"
title = "TS"
url = "https://example.org/ts"
derived_from = ["code"]
"""
    import tomllib

    return registry_mod.parse(tomllib.loads(base + extra), "test.toml")


def test_registry_declares_families_and_refuses_bad_links() -> None:
    reg = _registry(
        '[[source]]\nslug = "en"\ntitle = "EN"\nurl = "https://example.org/en"\nderived_from = ["ts"]\n'
    )
    assert [s.slug for s in reg.family("en")] == ["code", "ts", "en"]
    assert reg.get("ts").derived_from == ("code",)
    with pytest.raises(InvalidInputError, match="not another registered source"):
        _registry(
            '[[source]]\nslug = "en"\ntitle = "EN"\nurl = "https://example.org/en"\nderived_from = ["nope"]\n'
        )
    with pytest.raises(InvalidInputError, match="derived from itself"):
        _registry(
            '[[source]]\nslug = "aa"\ntitle = "A"\nurl = "https://example.org/a"\nderived_from = ["bb"]\n'
            '[[source]]\nslug = "bb"\ntitle = "B"\nurl = "https://example.org/b"\nderived_from = ["aa"]\n'
        )
    with pytest.raises(InvalidInputError, match="list of source slugs"):
        _registry(
            '[[source]]\nslug = "en"\ntitle = "EN"\nurl = "https://example.org/en"\nderived_from = "ts"\n'
        )
    shipped = registry_mod.load(MIRROR.parent / "sources.toml")
    assert [s.slug for s in shipped.family("etsi-en-304-223")] == [
        "ncsc-secure-ai-guidelines",
        "uk-ai-cyber-code-of-practice",
        "etsi-ts-104-223",
        "etsi-en-304-223",
    ]


def _cli(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _ingest_samples() -> None:
    govuk = MIRROR / "www.gov.uk/api/content/government/publications/ai-cyber-security-code-of-practice"
    etsi = MIRROR / "www.etsi.org/deliver"
    _cli("ingest", str(govuk / "code-of-practice-for-the-cyber-security-of-ai/index.json"),
         "--source", "uk-ai-cyber-code-of-practice", "--version", "2025-01-31")  # fmt: skip
    _cli("ingest", str(etsi / "etsi_ts/104200_104299/104223/01.01.01_60/ts_104223v010101p.pdf"),
         "--source", "etsi-ts-104-223", "--version", "V1.1.1")  # fmt: skip
    _cli("ingest", str(etsi / "etsi_en/304200_304299/304223/01.01.01_60/en_304223v010101p.pdf"),
         "--source", "etsi-en-304-223", "--version", "V1.1.1")  # fmt: skip


def test_family_command_finds_the_same_provision_in_the_other_documents(db_env: Engine) -> None:
    _ingest_samples()
    data = json.loads(_cli("family", "etsi-ts-104-223@V1.1.1", "5.2-1", "--lexical-only", "--format", "json"))
    members = {m["source"]: m for m in data["members"]}
    assert data["requirement"] == "5.2-1" and data["not_archived"] == ["ncsc-secure-ai-guidelines"]
    en = members["etsi-en-304-223"]
    assert en["relation"] == "written from it"
    assert en["counterparts"][0]["requirement_id"] == "5.2-1"
    assert en["counterparts"][0]["relationship"] == "equal" and en["counterparts"][0]["score"] > 0.95
    code = members["uk-ai-cyber-code-of-practice"]
    assert code["relation"] == "its source"
    found = code["counterparts"] or [code["nearest"]]
    assert found[0]["requirement_id"] == "3.1"  # "keep an inventory of models, datasets and prompts"
    text = _cli("family", "etsi-ts-104-223@V1.1.1", "5.2-1", "--lexical-only")
    assert "etsi-en-304-223 V1.1.1 (written from it)" in text and "no version archived yet" in text
    result = CliRunner().invoke(cli, ["family", "nist-csf@2.0", "GV.OC-01"])
    assert isinstance(result.exception, InvalidInputError) and "derived_from" in result.exception.hint
    result = CliRunner().invoke(cli, ["family", "etsi-ts-104-223@V1.1.1", "9.9-9", "--lexical-only"])
    assert isinstance(result.exception, NotFoundError) and "no provision" in result.exception.problem


def test_progress_is_silent_for_quick_work_and_reports_slow_work() -> None:
    quiet = io.StringIO()
    progress = EmbeddingProgress(quiet, delay=60.0)
    for done in (0, 32, 64):
        progress(done, 64)
    progress.close()
    assert quiet.getvalue() == ""
    loud = io.StringIO()
    progress = EmbeddingProgress(loud, delay=0.0)
    progress(0, 64)
    progress(64, 64)
    progress(10, 10)
    progress.close()
    lines = loud.getvalue().splitlines()
    assert lines[-1].startswith("embedding texts: 10/10 (74 in all")
