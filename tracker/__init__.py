"""Living standards tracker: archive, diff, map and report changes in AI security guidance."""

__version__ = "0.1.0"
