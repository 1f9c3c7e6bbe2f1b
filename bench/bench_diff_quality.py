"""Quality of the diff engine on the real corpus; prints figures (not a test).

Run: ``.venv/bin/python -m bench.bench_diff_quality [--lexical] [--only SECTION,...]`` (sections:
atlas, owasp, editorial, sp80053, csf, impact, labels)

- ATLAS: every consecutive pair of releases against MITRE's own CHANGELOG claims
  (``eval/atlas_changelog_claims.csv``): precision and recall of ``added`` and ``renamed``
  objects (renamed = a change carrying ``title_changed`` on the same identifier), and the
  share of ``updated`` claims the engine reports as changed.
- OWASP Top 10 for LLM 2023 v1.1 -> 2025: every non-unchanged change, to compare with the
  2025 preface (``LLM00_Preface.md``).
- The editorial-only pairs of ``eval/README.md``: how many substantive changes.
- SP 800-53 Rev 4 -> Rev 5 and Rev 5 FPD -> final: summary, and what became of every
  requirement the new version withdraws with a declared successor.
- CSF 1.1 -> 2.0 (OSCAL), for reading: withdrawn subcategories that the engine finds again.
- The same diff's impact on an organisation mapped to CSF 1.1 through NIST's 800-53 crosswalk:
  counts by action BEFORE (lineage ignored: the rules run with ``follow_lineage=False``) and
  AFTER (mappings follow the lineage), see ``bench_diff_impact``.
- NIST's own labels (``eval/sp800-53_rev4_to_rev5_dev.csv``, see ``bench_diff_labels``): added,
  withdrawn and target accuracy, ``substantive`` precision/recall/F1 against
  ``more_than_editorial`` and per-tag precision on SP 800-53 Rev 4 -> Rev 5; and the counts of
  the consultation draft (FPD) -> final diff by kind, verdict and tag.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import re
from collections import Counter, defaultdict

from bench import bench_diff_impact, bench_diff_labels
from bench.bench_diff_common import Timer, corpus_dir, eval_dir, load_version, log, versions
from embeddings.cache import CachedEmbedder, MemoryVectorStore
from embeddings.protocol import Embedder
from tracker.diff import DiffResult, Kind, Tag, diff_versions
from tracker.domain.keys import normalise_key
from tracker.domain.model import ParsedVersion

_CACHE: dict[tuple[str, str], ParsedVersion] = {}
_DIFFS: dict[tuple[str, str, str], DiffResult] = {}  # the csf and impact sections share one diff
LABEL_FILE = "sp800-53_rev4_to_rev5_dev.csv"


def _load(source: str, label: str) -> ParsedVersion:
    if (source, label) not in _CACHE:
        _CACHE[(source, label)] = load_version(source, label)
    return _CACHE[(source, label)]


def _diff(source: str, a: str, b: str, embedder: Embedder | None) -> DiffResult:
    return diff_versions(
        _load(source, a), _load(source, b), embedder, source=source, old_version=a, new_version=b
    )


def _csf_diff(embedder: Embedder | None) -> DiffResult:
    if CSF not in _DIFFS:
        _DIFFS[CSF] = _diff(*CSF, embedder)
    return _DIFFS[CSF]


def _pr(found: set[str], gold: set[str]) -> tuple[float, float, int, int, int]:
    tp = len(found & gold)
    precision = tp / len(found) if found else 1.0
    recall = tp / len(gold) if gold else 1.0
    return precision, recall, tp, len(found), len(gold)


def _fmt_pr(name: str, pr: tuple[float, float, int, int, int]) -> str:
    p, r, tp, nf, ng = pr
    return f"{name}: precision {p:.3f} recall {r:.3f} (tp {tp}, found {nf}, gold {ng})"


def _vkey(label: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", label))


def atlas(embedder: Embedder | None) -> None:
    print("== MITRE ATLAS: consecutive releases vs CHANGELOG claims ==")
    claims: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    with (eval_dir() / "atlas_changelog_claims.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            claims[row["release"]][row["change_type"]].add(normalise_key(row["object_id"]))
    labels = sorted(versions("mitre-atlas"), key=_vkey)
    totals: dict[str, list[set[str]]] = {"added": [set(), set()], "renamed": [set(), set()]}
    claimed_totals: dict[str, list[set[str]]] = {"added": [set(), set()], "renamed": [set(), set()]}
    updated_hit = updated_all = 0
    unclaimed_new_id = unclaimed_old_id = 0
    for a, b in itertools.pairwise(labels):
        release = b.lstrip("v")
        timer = Timer()
        result = _diff("mitre-atlas", a, b, embedder)
        added = {k for c in result.by_kind(Kind.ADDED) for k in c.new_keys}
        renamed = {
            k
            for c in result.changes
            if Tag.TITLE_CHANGED in c.tags and c.kind in (Kind.MODIFIED, Kind.MOVED)
            for k in c.new_keys
            if k in c.old_keys
        }
        changed = {k for c in result.changes if c.kind is not Kind.UNCHANGED for k in c.new_keys}
        gold = claims.get(release, {})
        g_added, g_renamed, g_updated = (
            gold.get("added", set()),
            gold.get("renamed", set()),
            gold.get("updated", set()),
        )
        updated_all += len(g_updated)
        updated_hit += len(g_updated & changed)
        for name, found, g in (("added", added, g_added), ("renamed", renamed, g_renamed)):
            totals[name][0].update(f"{release}:{k}" for k in found)
            totals[name][1].update(f"{release}:{k}" for k in g)
            if release in claims:
                claimed_totals[name][0].update(f"{release}:{k}" for k in found)
                claimed_totals[name][1].update(f"{release}:{k}" for k in g)
        summary = " ".join(f"{k}={v}" for k, v in result.summary.items() if v and k != "unchanged")
        mark = "" if release in claims else "  (no CHANGELOG claims for this release)"
        print(
            f"{a:>7} -> {b:<7} {timer():5.2f}s  {summary}; added {len(added)} (gold {len(g_added)}, "
            f"hit {len(added & g_added)}), renamed {len(renamed)} (gold {len(g_renamed)}, "
            f"hit {len(renamed & g_renamed)}){mark}"
        )
        old_keys = {r.key for r in _load("mitre-atlas", a).requirements}
        if release in claims:
            unclaimed = added - g_added
            unclaimed_new_id += len(unclaimed - old_keys)
            unclaimed_old_id += len(unclaimed & old_keys)
        for k in sorted(g_added - added):
            print(f"      missed added {k}: {_describe(result, k)}")
        for k in sorted(g_renamed - renamed):
            print(f"      missed renamed {k}: {_describe(result, k)}")
    for scope, data in (("all pairs", totals), ("releases with claims", claimed_totals)):
        print(f"-- micro-average over {scope}:")
        for name in ("added", "renamed"):
            print("   " + _fmt_pr(name, _pr(data[name][0], data[name][1])))
    print(f"   updated claims reported as changed: {updated_hit}/{updated_all}")
    print(
        f"   added but not in the CHANGELOG (releases with claims): {unclaimed_new_id} have an identifier "
        f"absent from the previous release (CHANGELOG omission), {unclaimed_old_id} reuse an old identifier"
    )


def _describe(result: DiffResult, key: str) -> str:
    for c in result.changes:
        if key in c.new_keys or key in c.old_keys:
            return f"{c.kind.value} {list(c.old_ids)}->{list(c.new_ids)} tags={[t.value for t in c.tags]}"
    return "not in the diff"


def owasp(embedder: Embedder | None) -> None:
    print("== OWASP Top 10 for LLM: 2023-v1.1 -> 2025-release ==")
    old, new = _load("owasp-top10-llm", "2023-v1.1"), _load("owasp-top10-llm", "2025-release")
    title = {("old", r.ident): r.title for r in old.requirements} | {
        ("new", r.ident): r.title for r in new.requirements
    }
    result = _diff("owasp-top10-llm", "2023-v1.1", "2025-release", embedder)
    print("summary:", result.summary)
    for c in result.changes:
        olds = ", ".join(f"{i} {title[('old', i)]!r}" for i in c.old_ids)
        news = ", ".join(f"{i} {title[('new', i)]!r}" for i in c.new_ids)
        tags = ",".join(t.value for t in c.tags)
        print(f"  {c.kind.value:9} {olds or '-'} => {news or '-'}  [{tags}] conf {c.confidence:.2f}")
    preface = corpus_dir() / "owasp-top10-llm" / "2025-release" / "LLM00_Preface.md"
    if preface.is_file():
        names = re.findall(r"\*\*([^*]+)\*\*", preface.read_text(encoding="utf-8"))
        print("  preface highlights:", ", ".join(dict.fromkeys(names)))


EDITORIAL = (
    ("owasp-top10-llm", "2025-release", "2025-maint-2025-11"),
    ("owasp-top10-llm", "2025-rc-2024-11-08", "2025-release"),
    ("nist-sp-800-53", "rev5.1-2020-12-errata", "rev5-oscal-5.0.1-2021-06"),
    ("owasp-llm-governance-checklist", "v1.0", "v1.1"),
)


def editorial(embedder: Embedder | None) -> None:
    print("== Editorial-only pairs (few or no substantive changes expected) ==")
    for source, a, b in EDITORIAL:
        timer = Timer()
        try:
            result = _diff(source, a, b, embedder)
        except Exception as err:  # a parser not there yet must not stop the other figures
            print(f"  {source} {a} -> {b}: could not run ({type(err).__name__}: {err})")
            continue
        subst = [c for c in result.changes if c.substantive]
        total = sum(result.summary.values())
        print(
            f"  {source} {a} -> {b} ({timer():.2f}s): {len(subst)} substantive of {total} requirements; "
            + " ".join(f"{k}={v}" for k, v in result.summary.items() if v)
        )
        for c in subst[:8]:
            ids = f"{list(c.old_ids)}->{list(c.new_ids)}"
            print(f"      substantive {c.kind.value} {ids}: {'; '.join(c.reasons)[:240]}")


def sp80053(embedder: Embedder | None) -> None:
    print("== SP 800-53: withdrawn requirements and their successors ==")
    for a, b in (("rev4", "rev5.0.0-2020-09"), ("rev5-fpd-2020-03", "rev5.0.0-2020-09")):
        timer = Timer()
        old, new = _load("nist-sp-800-53", a), _load("nist-sp-800-53", b)
        result = _diff("nist-sp-800-53", a, b, embedder)
        elapsed = timer()
        new_by_key = new.by_key()
        withdrawn = [r for r in old.requirements if not r.withdrawn and new_by_key.get(r.key, r).withdrawn]
        declared = [r for r in withdrawn if new_by_key[r.key].successors]
        where: dict[str, Kind] = {}
        pointed = 0
        for c in result.changes:
            for k in c.old_keys:
                where[k] = c.kind
        for r in declared:
            successors = set(new_by_key[r.key].successors)
            change = next((c for c in result.changes if r.key in c.old_keys), None)
            if change is not None and successors & set(change.new_keys):
                pointed += 1
        kinds: dict[str, int] = defaultdict(int)
        for r in withdrawn:
            kinds[where.get(r.key, Kind.UNCHANGED).value] += 1
        subst = sum(1 for c in result.changes if c.substantive)
        print(f"  {a} -> {b} ({elapsed:.2f}s): {dict(result.summary)}; substantive {subst}")
        print(
            f"    newly withdrawn {len(withdrawn)}, with declared successor {len(declared)}, "
            f"change points to a declared successor {pointed}; classified as {dict(kinds)}"
        )


CSF = ("nist-csf", "1.1", "2.0-oscal")


def csf(embedder: Embedder | None) -> None:
    print(
        "== NIST CSF 1.1 -> 2.0 (OSCAL): where the withdrawn subcategories went (no labels; for reading) =="
    )
    result = _csf_diff(embedder)
    print(f"  summary: {result.summary}")
    for c in result.changes:
        if Tag.WITHDRAWN in c.tags and c.kind is not Kind.REMOVED:
            ids = f"{', '.join(c.old_ids)} -> {', '.join(c.new_ids)}"
            print(f"    {c.kind.value} {ids} (confidence {c.confidence:.2f})")


def csf_impact(embedder: Embedder | None) -> None:
    print("== NIST CSF 1.1 -> 2.0 (OSCAL) impact: 800-53 controls mapped to CSF 1.1, before/after lineage ==")
    bench_diff_impact.csf_impact(_csf_diff(embedder), _load(*CSF[:2]), _load(CSF[0], CSF[2]), embedder)


LABELLED_PAIR = ("nist-sp-800-53", "rev4", "rev5-oscal-5.0.1-2021-06")
DRAFT_TO_FINAL = ("nist-sp-800-53", "rev5-fpd-2020-03", "rev5.0.0-2020-09")


def labels(embedder: Embedder | None) -> None:
    source, a, b = LABELLED_PAIR
    print(f"== NIST's Rev 4 -> Rev 5 comparison workbook: {source} {a} -> {b} (dev families) ==")
    timer = Timer()
    result = _diff(source, a, b, embedder)
    scores = bench_diff_labels.score(result, bench_diff_labels.read_rows(eval_dir() / LABEL_FILE))
    print(f"  ({timer():.2f}s)")
    for line in bench_diff_labels.report(scores):
        print("  " + line)
    source, a, b = DRAFT_TO_FINAL
    print(f"== Consultation draft -> final: {source} {a} -> {b} ==")
    result = _diff(source, a, b, embedder)
    changed = [c for c in result.changes if c.kind is not Kind.UNCHANGED]
    verdicts = Counter("substantive" if c.substantive else "editorial" if c.substantive is False else "n/a"
                       for c in changed)  # fmt: skip
    tags = Counter(t.value for c in changed for t in c.tags)
    print(f"  summary: {result.summary}")
    print(f"  changed {len(changed)}: {dict(sorted(verdicts.items()))}")
    print(f"  tags: {dict(sorted(tags.items()))}")


SECTIONS = {
    "atlas": atlas,
    "owasp": owasp,
    "editorial": editorial,
    "sp80053": sp80053,
    "csf": csf,
    "impact": csf_impact,
    "labels": labels,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lexical", action="store_true", help="no embedder: lexical similarity only")
    parser.add_argument(
        "--precision",
        choices=("fp32", "bf16"),
        default="fp32",
        help="the model's number format (fp32: the figures this benchmark has always printed; "
        "bf16: the product's default)",
    )
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    args = parser.parse_args()
    embedder: Embedder | None = None
    if not args.lexical:
        from embeddings.sentence_transformer import SentenceTransformerEmbedder
        from tracker.domain.text import normalise

        model = SentenceTransformerEmbedder(precision=args.precision)
        embedder = CachedEmbedder(model, MemoryVectorStore(), normalise=normalise)
    log(f"corpus: {corpus_dir()}; embedder: {embedder.model_id if embedder else 'none'}")
    for name in args.only.split(","):
        SECTIONS[name.strip()](embedder)
        print(flush=True)


if __name__ == "__main__":
    main()
