"""Requirements of other publications that a publisher names, read off the links it prints.

Publications name their neighbours: an OWASP Top 10 entry ends with "Related Frameworks and
Taxonomies", a list of MITRE ATLAS techniques; an AI Exchange control links the Top 10 risks
and ATLAS techniques it answers. Those are the publisher's own cross-references, worth more
than any similarity, and they change from one version to the next like the text does.

They are read from link *targets*, not from the words around them, because the address is
what the publisher maintains: the same list prints "AML.T0018 | Backdoor ML Model",
"[ML Supply Chain Compromise](…/techniques/AML.T0010)" with no ID in the text, or
"AML.TA0000 ML Model Access: Mitre ATLAS". Each tracked publication whose requirements have
stable web addresses is described once below by the address pattern that names one of its
requirements; adding a source with such addresses means adding one :class:`Citation` here.
A link to a page that is not one requirement (a home page, a PDF, a CWE entry we do not
track) names nothing and is ignored: inventing a target would be worse than missing one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tracker.domain.keys import normalise_key
from tracker.domain.model import Link

RELATION = "cites"


@dataclass(frozen=True)
class Citation:
    """How one tracked publication's requirements are addressed on the web.

    ``pattern`` matches a URL and captures the requirement's identifier as ``id``;
    ``ident`` turns the captured text into the identifier as the publication prints it.
    """

    source: str
    pattern: re.Pattern[str]
    prefix: str = ""

    def ident(self, captured: str) -> str:
        return f"{self.prefix}{captured}".upper()


CITATIONS: tuple[Citation, ...] = (
    Citation(
        "mitre-atlas",
        re.compile(
            r"^https?://atlas\.mitre\.org/(?:techniques|tactics|mitigations|studies)/"
            r"(?P<id>AML\.[A-Z]{1,3}\d{4}(?:\.\d{3})?)/?(?:[?#].*)?$",
            re.IGNORECASE,
        ),
    ),
    Citation(
        "owasp-top10-llm",
        re.compile(
            r"^https?://(?:genai\.owasp\.org/llmrisk(?:\d{4})?|llmtop10\.com)/llm(?P<id>\d{2})(?:[-_/][^?#]*)?(?:[?#].*)?$",
            re.IGNORECASE,
        ),
        prefix="LLM",
    ),
    Citation(
        "owasp-ml-security-top10",
        re.compile(
            r"^https?://owasp\.org/www-project-machine-learning-security-top-10/docs/"
            r"ML(?P<id>\d{2})_\d{4}[^/?#]*$",
            re.IGNORECASE,
        ),
        prefix="ML",
    ),
)

# Markdown inline links and autolinks, and bare addresses in text that is already plain.
_MARKDOWN_LINK = re.compile(r"\]\(\s*<?(?P<url>https?://[^\s)>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_BARE_URL = re.compile(r"(?<![(\w])(?P<url>https?://[^\s)<>\]\"']+)")


def cited(url: str) -> tuple[str, str] | None:
    """``(source slug, identifier as printed)`` of the requirement ``url`` names, if any."""
    url = url.strip().rstrip(".,;")
    for citation in CITATIONS:
        found = citation.pattern.match(url)
        if found:
            return citation.source, citation.ident(found.group("id"))
    return None


def citations(markdown: str, *, own_source: str = "") -> tuple[Link, ...]:
    """The ``cites`` links in ``markdown``, in order of first mention, without duplicates.

    A link back into ``own_source`` (an AI Exchange page linking another of its sections)
    is not a cross-reference and is left out.
    """
    found: dict[tuple[str, str], Link] = {}
    urls = [m.group("url") for m in _MARKDOWN_LINK.finditer(markdown)]
    urls += [m.group("url") for m in _BARE_URL.finditer(markdown)]
    for url in urls:
        named = cited(url)
        if named is None or named[0] == own_source:
            continue
        source, ident = named
        # the identifier as the cited publication prints it ("AML.T0051.000"): what a reader
        # of a crosswalk looks for; normalise_key gives the key it is compared by
        found.setdefault((source, normalise_key(ident)), Link(relation=RELATION, target=ident, source=source))
    return tuple(found.values())
