"""Adding a channel touches the registry's kinds and the spider table together."""

from __future__ import annotations

from spiders.crawl import SPIDERS, spider_class
from tracker.sources import registry as registry_mod


def test_every_registry_kind_has_a_spider_and_every_spider_a_kind() -> None:
    assert set(SPIDERS) == set(registry_mod.KINDS)


def test_every_registered_source_has_a_spider_that_imports() -> None:
    registry = registry_mod.load()
    kinds = {spec.kind for spec in registry.sources}
    assert kinds <= set(SPIDERS)
    for kind in SPIDERS:
        assert callable(spider_class(kind)), kind  # the module and class named in the table exist
