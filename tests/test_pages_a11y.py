"""Accessibility basics of every page, read from the served HTML and CSS: labels for every
form control, landmarks, a skip link first, one h1 and no skipped heading level, unique ids,
labelled charts and tables, a live region, and WCAG AA contrast of the stylesheet's colours."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup, Tag
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support.api_world import client_for, seed
from tests.support.pages_world import sign_in
from tracker.digests import unsubscribe
from tracker.digests.model import Channel, SubscriptionSpec
from tracker.storage.subscriptions import SubscriptionStore

PAGES = (
    "/ui",
    "/ui/sources/demo-std",
    "/ui/sources/demo-std/timeline",
    "/ui/sources/demo-std/consultation",
    "/ui/sources/demo-std/review/v1/v2",
    "/ui/sources/demo-std/review/v1/v2?view=consultation&kind=all",
    "/ui/sources/demo-std/review/v2/v3-draft",
    "/ui/sign-in",
    "/ui/decisions",
    "/ui/sources/missing",
)
CSS = Path(__file__).resolve().parent.parent / "api" / "static" / "app.css"


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    from tracker.storage.db import make_engine, upgrade

    engine: Engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('a11y') / 'db.sqlite3'}")
    upgrade(engine)
    world = seed(engine)
    anonymous: TestClient = client_for(engine)
    signed: TestClient = client_for(engine)
    sign_in(signed, world.keys["acme:write"])
    out = {f"anon {p}": anonymous.get(p).text for p in PAGES if p != "/ui/decisions"}
    out.update({f"signed {p}": signed.get(p).text for p in PAGES if p != "/ui/sign-in"})
    # the unsubscribe page an email links to, before and after unsubscribing
    spec = SubscriptionSpec(channels=(Channel.EMAIL,), email_to=("grc@acme.example",))
    sub = SubscriptionStore(engine).create(world.orgs["acme"], spec).subscription
    found = SubscriptionStore(engine).signing_key(sub.id)
    assert found is not None
    path = f"/ui/unsubscribe/{unsubscribe.make_token(sub.id, found[1])}"
    out["anon unsubscribe"] = anonymous.get(path).text
    out["anon unsubscribed"] = anonymous.post(path).text
    assert "<form" in out["anon unsubscribe"] and "sends no more email" in out["anon unsubscribed"]
    engine.dispose()
    return out


def _soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def _labelled(control: Tag, soup: BeautifulSoup) -> bool:
    if control.get("aria-label") or control.get("aria-labelledby"):
        return True
    if control.find_parent("label") is not None:
        return True
    ident = str(control.get("id") or "")
    return bool(ident) and soup.find("label", attrs={"for": ident}) is not None


def test_every_form_control_has_a_label(pages: dict[str, str]) -> None:
    for name, html in pages.items():
        soup = _soup(html)
        for control in soup.find_all(["input", "select", "textarea"]):
            if control.name == "input" and control.get("type") in ("hidden", "submit", "button"):
                continue
            assert _labelled(control, soup), f"{name}: unlabelled {control}"
        for button in soup.find_all("button"):
            assert button.get_text(strip=True) or button.get("aria-label"), f"{name}: empty button"
        for fieldset in soup.find_all("fieldset"):
            assert fieldset.find("legend") is not None, f"{name}: fieldset without legend"


def test_landmarks_skip_link_and_headings(pages: dict[str, str]) -> None:
    for name, html in pages.items():
        soup = _soup(html)
        assert soup.html is not None and soup.html.get("lang") == "en", name
        assert soup.title is not None and soup.title.get_text(strip=True), name
        header, main = soup.find("header", class_="site-header"), soup.find("main")
        assert header is not None and soup.find("nav") is not None and soup.find("footer") is not None, name
        assert main is not None and main.get("id") == "main", name
        first = soup.body.find(["a", "button", "input", "select", "textarea"]) if soup.body else None
        assert first is not None and first.get("href") == "#main" and "skip" in first.get_text().lower(), name
        assert len(soup.find_all("h1")) == 1, name
        previous = 1
        for heading in main.find_all(re.compile(r"^h[1-6]$")):
            level = int(heading.name[1])
            assert level <= previous + 1, f"{name}: {heading.name} after h{previous}: {heading.get_text()}"
            previous = level
        live = soup.find(id="live")
        assert live is not None and live.get("aria-live") == "polite" and live.get("role") == "status", name
        ids = [t["id"] for t in soup.find_all(id=True)]
        assert len(ids) == len(set(ids)), (
            f"{name}: duplicate ids {sorted({i for i in ids if ids.count(i) > 1})}"
        )
        for tag in soup.find_all(tabindex=True):
            assert int(str(tag["tabindex"])) <= 0, f"{name}: positive tabindex"


def test_charts_and_tables_are_labelled(pages: dict[str, str]) -> None:
    for name, html in pages.items():
        soup = _soup(html)
        for svg in soup.find_all("svg"):
            if svg.get("aria-hidden") == "true":
                continue
            assert svg.get("role") == "img", name
            for ref in str(svg.get("aria-labelledby", "")).split():
                assert soup.find(id=ref) is not None, f"{name}: svg label {ref} missing"
        for table in soup.find_all("table"):
            assert table.find("caption") is not None or table.get("aria-labelledby"), f"{name}: table"
            for th in table.find_all("th"):
                assert th.get("scope") in ("col", "row"), f"{name}: th without scope"


def _luminance(hex_colour: str) -> float:
    value = hex_colour.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_stylesheet_colours_meet_wcag_aa() -> None:
    css = CSS.read_text()
    variables = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{3,6})", css))
    resolved = re.sub(r"var\(--([\w-]+)\)", lambda m: variables[m.group(1)], css)
    pairs = [
        (variables["text"], variables["bg"]),
        (variables["text"], variables["panel"]),
        (variables["muted"], variables["bg"]),
        (variables["muted"], variables["panel"]),
        (variables["link"], variables["bg"]),
        (variables["link"], variables["panel"]),
        (variables["del-text"], variables["del-bg"]),
        (variables["ins-text"], variables["ins-bg"]),
    ]
    for rule in re.findall(r"\{([^}]*)\}", resolved):
        fg = re.search(r"(?<![-\w])color:\s*(#[0-9a-fA-F]{3,6})", rule)
        bg = re.search(r"background:\s*(#[0-9a-fA-F]{3,6})", rule)
        if fg and bg:
            pairs.append((fg.group(1), bg.group(1)))
    assert len(pairs) > 15
    for fg_colour, bg_colour in pairs:
        assert contrast(fg_colour, bg_colour) >= 4.5, (fg_colour, bg_colour, contrast(fg_colour, bg_colour))
    assert contrast(variables["focus"], variables["bg"]) >= 3  # focus ring, a graphical object
