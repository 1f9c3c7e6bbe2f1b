"""A small control set and a deterministic embedder for mapper and impact tests."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from embeddings.protocol import Vectors
from tracker.mapping.tokens import tokens
from tracker.mapping.types import Control


class BagOfWordsEmbedder:
    """Hashes stemmed tokens into 64 dimensions: deterministic, instant, roughly semantic."""

    model_id = "test-bag-of-words"
    dim = 64

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, texts: Sequence[str]) -> Vectors:
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for tok in tokens(text):
                out[i, int(hashlib.sha256(tok.encode()).hexdigest(), 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        result: Vectors = (out / np.where(norms == 0, 1.0, norms)).astype(np.float32)
        return result


CONTROLS = [
    Control(
        "AC-1",
        "Policy and Procedures",
        "Develop and disseminate an access control policy.",
        family="Access Control",
    ),
    Control(
        "AC-2", "Account Management", "Manage system accounts: create, enable, disable and remove accounts."
    ),
    Control(
        "AC-2(1)", "Automated Account Management", "Use automated mechanisms for accounts.", parent="AC-2"
    ),
    Control("AC-2(4)", "Automated Audit Actions", "Audit account creation and removal.", parent="AC-2"),
    Control("CP-1", "Policy and Procedures", "Develop and disseminate a contingency planning policy."),
    Control("CP-9", "System Backup", "Conduct backups of user-level and system-level information."),
    Control("CM-8", "System Component Inventory", "Develop and document an inventory of system components."),
    Control("IR-4", "Incident Handling", "Implement an incident handling capability for incidents."),
    Control("PE-3", "Physical Access Control", "Enforce physical access authorizations at entry points."),
    Control("SC-7", "Boundary Protection", "Monitor and control communications at the external boundary."),
]
