"""Score calibration and the suggested IR 8477 relationship of a ranked candidate.

**Calibration.** The mapper's fused score (a weighted sum of per-query z-scores) is
standardised once more over all candidate controls for the query, giving the evidence
``t``: how many standard deviations a control stands above the crowd. ``t`` goes through a
logistic, ``p = 1 / (1 + exp(-SLOPE * (t - CENTRE)))``, read as the probability that a
curator would list the control for the requirement. The two constants are the rounded
maximum-likelihood fit on NIST's CSF 1.1 → SP 800-53 Rev 5 crosswalk; the mapping
benchmark refits them leaving out one CSF function at a time (the fits agree within
±0.15) and prints the reliability table. Calibration is monotone, so it never changes
a ranking: the recall and MRR figures do not depend on it. A ``t`` of 4 (p = 0.5) is
also what one would pick a priori: with a few hundred candidates, an unrelated control
that far above the mean is rare.

**Textual agreement.** Evidence relative to the crowd cannot say that two statements are
the same text: among ten ETSI provisions the verbatim copy of a UK Code provision stands at
most three standard deviations above the rest (``t`` cannot exceed ``(n-1)/sqrt(n)`` among
``n`` candidates), which the logistic reads as p = 0.1. Documents written from one another
(the Code, ETSI TS 104 223, EN 304 223) are mapped provision by provision, so the score is
the larger of the calibrated evidence and an *absolute* agreement read off the pair alone:
``a = min(cosine, (max(cover_q, cover_c) + sqrt(cover_q * cover_c)) / 2)``, through a
logistic centred at :data:`AGREE_CENTRE`. Both halves are needed: MiniLM gives two
unrelated provisions of one document a cosine of 0.7 or more (same vocabulary of AI
security), and shared words alone do not make the same obligation. The coverage term is
high when one statement is contained in the other (``max``) and highest when each covers
the other (``sqrt``), so a verbatim copy scores above a rewording, and both far above an
unrelated provision. Between two catalogues written independently (CSF and SP 800-53)
the best pairs have agreements around 0.4, where the logistic gives less than the
calibrated evidence, so those scores keep their fitted calibration.

**Relationship.** IR 8477 asks whether the source's content lies inside the target's
(subset), contains it (superset), matches it (equal) or only overlaps (intersects). We
read it off the *asymmetry of term coverage*: the IDF-weighted share of the requirement's
terms found in the control (``cover_q``) versus the share of the control's terms found in
the requirement (``cover_c``), together with dense similarity for ``equal``. A short
high-level requirement fully echoed by a long control reads as ``subset``, and so does a
provision wholly inside a rewrite that adds a little (:data:`WHOLLY_COVERED`); the reverse
as ``superset``; anything else that scores as relevant as ``intersects``; a candidate whose
calibrated score is below :data:`NO_RELATION_BELOW` as ``no-relationship``. These are
suggestions for a reviewer and are marked as machine-made wherever they are stored.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from tracker.mapping.types import Relationship

CENTRE = 4.0
SLOPE = 1.3
NO_RELATION_BELOW = 0.05
EQUAL_COSINE = 0.9
EQUAL_COVER = 0.8
EQUAL_COVER_LEXICAL = 0.95
WHOLLY_COVERED = 0.95
CONTAINED_COVER = 0.7
PARTIAL_COVER = 0.5
AGREE_CENTRE = 0.6
AGREE_SLOPE = 15.0


def calibrate(evidence_sigma: float) -> float:
    """Probability-like score in [0, 1] from evidence in standard deviations."""
    return 1.0 / (1.0 + math.exp(-SLOPE * (evidence_sigma - CENTRE)))


def agreement(cosine: float | None, cover_q: float, cover_c: float) -> float:
    """Absolute textual agreement of one pair in [0, 1]; without a cosine, the lexical overlap."""
    both = math.sqrt(max(cover_q, 0.0) * max(cover_c, 0.0))
    if cosine is None:
        return both  # lexical only: containment is not sameness without a meaning check
    return min(cosine, (max(cover_q, cover_c) + both) / 2)


def agreement_score(cosine: float | None, cover_q: float, cover_c: float) -> float:
    """The pair's own textual agreement as a probability, whatever the other candidates are."""
    agree = agreement(cosine, cover_q, cover_c)
    return 1.0 / (1.0 + math.exp(-AGREE_SLOPE * (agree - AGREE_CENTRE)))


def pair_score(
    evidence_sigma: float,
    cosine: float | None,
    cover_q: float,
    cover_c: float,
    learned: float | None = None,
) -> float:
    """The candidate's score: the calibrated evidence (or the learned ranker's calibrated
    score, when one ranked), or the pair's own agreement if higher: a near-verbatim pair is
    near 1 however many good candidates compete with it."""
    relative = calibrate(evidence_sigma) if learned is None else learned
    return max(relative, agreement_score(cosine, cover_q, cover_c))


def weighted_coverage(terms: Iterable[str], other: set[str], idf: dict[str, float]) -> float:
    """IDF-weighted share of ``terms`` that also occur in ``other``."""
    unique = set(terms)
    total = sum(idf.get(t, 1.0) for t in unique)
    if total <= 0:
        return 0.0
    return sum(idf.get(t, 1.0) for t in unique if t in other) / total


def suggest_relationship(score: float, cosine: float | None, cover_q: float, cover_c: float) -> Relationship:
    """IR 8477 relationship suggested for a requirement (source) and a control (target).

    ``cosine`` is None when no model ran (lexical only): then only near-identical word sets
    (:data:`EQUAL_COVER_LEXICAL` both ways) are suggested as ``equal``.
    """
    if score < NO_RELATION_BELOW:
        return Relationship.NO_RELATIONSHIP
    if cosine is None:
        if cover_q >= EQUAL_COVER_LEXICAL and cover_c >= EQUAL_COVER_LEXICAL:
            return Relationship.EQUAL
    elif cosine >= EQUAL_COSINE and cover_q >= EQUAL_COVER and cover_c >= EQUAL_COVER:
        return Relationship.EQUAL
    if cover_q >= CONTAINED_COVER and cover_c < PARTIAL_COVER:
        return Relationship.SUBSET
    if cover_c >= CONTAINED_COVER and cover_q < PARTIAL_COVER:
        return Relationship.SUPERSET
    # one statement wholly inside the other, which says a little more ("models and datasets"
    # against "models, datasets and prompts"): a provision and its extended rewrite
    if cover_q >= WHOLLY_COVERED and cover_c < EQUAL_COVER:
        return Relationship.SUBSET
    if cover_c >= WHOLLY_COVERED and cover_q < EQUAL_COVER:
        return Relationship.SUPERSET
    return Relationship.INTERSECTS
