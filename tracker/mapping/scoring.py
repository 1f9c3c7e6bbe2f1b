"""Score calibration and the suggested IR 8477 relationship of a ranked candidate.

**Calibration.** The mapper's fused score is a weighted sum of per-query z-scores (each
signal standardised over all candidate controls for that query). Under the null
hypothesis "this control is unrelated", each z-score is roughly standard normal, so the sum
divided by the Euclidean norm of the weights is too. We map that normalised evidence ``t``
to a probability with a logistic centred at ``t = CENTRE`` standard deviations: with a
few hundred candidates per query, fewer than one unrelated control is expected above 3σ,
so a control that far out is more likely relevant than not. The slope spreads 2σ..4σ over
roughly 0.2..0.8. These constants are set from that reasoning, not fitted to any labelled
crosswalk; the mapping benchmark prints how well they agree with NIST's own mapping.

**Relationship.** IR 8477 asks whether the source's content lies inside the target's
(subset), contains it (superset), matches it (equal) or only overlaps (intersects). We
read it off the *asymmetry of term coverage*: the IDF-weighted share of the requirement's
terms found in the control (``cover_q``) versus the share of the control's terms found in
the requirement (``cover_c``), together with dense similarity for ``equal``. A short
high-level requirement fully echoed by a long control reads as ``subset``; the reverse as
``superset``; anything else that scores as relevant as ``intersects``; a candidate whose
calibrated score is below :data:`NO_RELATION_BELOW` as ``no-relationship``. These are
suggestions for a reviewer and are marked as machine-made wherever they are stored.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from tracker.mapping.types import Relationship

CENTRE = 3.0
SLOPE = 1.4
NO_RELATION_BELOW = 0.1
EQUAL_COSINE = 0.9
EQUAL_COVER = 0.8
CONTAINED_COVER = 0.7
PARTIAL_COVER = 0.5


def calibrate(evidence_sigma: float) -> float:
    """Probability-like score in [0, 1] from evidence in standard deviations."""
    return 1.0 / (1.0 + math.exp(-SLOPE * (evidence_sigma - CENTRE)))


def weighted_coverage(terms: Iterable[str], other: set[str], idf: dict[str, float]) -> float:
    """IDF-weighted share of ``terms`` that also occur in ``other``."""
    unique = set(terms)
    total = sum(idf.get(t, 1.0) for t in unique)
    if total <= 0:
        return 0.0
    return sum(idf.get(t, 1.0) for t in unique if t in other) / total


def suggest_relationship(score: float, cosine: float, cover_q: float, cover_c: float) -> Relationship:
    """IR 8477 relationship suggested for a requirement (source) and a control (target)."""
    if score < NO_RELATION_BELOW:
        return Relationship.NO_RELATIONSHIP
    if cosine >= EQUAL_COSINE and cover_q >= EQUAL_COVER and cover_c >= EQUAL_COVER:
        return Relationship.EQUAL
    if cover_q >= CONTAINED_COVER and cover_c < PARTIAL_COVER:
        return Relationship.SUBSET
    if cover_c >= CONTAINED_COVER and cover_q < PARTIAL_COVER:
        return Relationship.SUPERSET
    return Relationship.INTERSECTS
