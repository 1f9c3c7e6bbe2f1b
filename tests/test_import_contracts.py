"""The import contracts in pyproject.toml keep up with the tree.

``lint-imports`` (run by ``make lint``) checks the contracts; this test checks the contracts
themselves: a new ``tracker`` package must be named in the domain's forbidden list, or the
domain could start importing it unnoticed.
"""

from __future__ import annotations

import pkgutil
import tomllib
from pathlib import Path

import tracker

ROOT = Path(__file__).resolve().parents[1]


def _contract(contract_id: str) -> dict[str, object]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (found,) = [c for c in contracts if c["id"] == contract_id]
    return dict(found)


def test_domain_contract_names_every_other_tracker_module() -> None:
    forbidden = set(_contract("domain-is-leaf")["forbidden_modules"])  # type: ignore[call-overload]
    ours = {f"tracker.{m.name}" for m in pkgutil.iter_modules(tracker.__path__)}
    missing = ours - forbidden - {"tracker.domain"}
    assert not missing, f"add {sorted(missing)} to the domain-is-leaf contract in pyproject.toml"


def test_pure_stage_contract_exempts_only_service_modules() -> None:
    ignored = _contract("pure-stages")["ignore_imports"]
    assert isinstance(ignored, list)
    importers = {line.split("->")[0].strip() for line in ignored}
    assert importers and all(name.endswith(".service") for name in importers)
