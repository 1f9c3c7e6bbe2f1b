"""Controls, crosswalks, the mapper and change impact: the pure core (no storage, no CLI).

- :mod:`~tracker.mapping.types`: controls, mappings, IR 8477 relationships, candidates.
- :mod:`~tracker.mapping.crosswalks.files`: CSV, framework-library YAML and OSCAL crosswalks.
- :mod:`~tracker.mapping.relationships`: composing relationships along a path.
- :mod:`~tracker.mapping.propagate`: multi-hop crosswalks and diff lineage carry-over.
- :mod:`~tracker.mapping.mapper`: hybrid lexical + dense + structural ranking.
- :mod:`~tracker.impact.rules`: changes x mappings -> reassess / gap / retire / none.
"""

from tracker.mapping.types import Candidate, Control, Mapping, Provenance, Ranking, Relationship, ReviewState

__all__ = ["Candidate", "Control", "Mapping", "Provenance", "Ranking", "Relationship", "ReviewState"]
