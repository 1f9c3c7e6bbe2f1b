"""Write the mirror samples: ``python data/mirror/make_samples.py`` (needs reportlab, a dev dependency).

Small stand-ins, in the publishers' real shapes, for the sources the shared corpus lacks: the
GOV.UK Content API JSON and HTML page of the UK AI Code of Practice and its Implementation
Guide, the NCSC guidelines page, ETSI deliver folders (listing, version folder, PDF) for
TS 104 223 and EN 304 223, the two NIST AI PDFs (in NIST's layouts: ``nist_samples.py``) and
the EUR-Lex page of the AI Act. The
wording is ORIGINAL and short; only the layout imitates the publishers. Output is
deterministic, so rerunning rewrites identical files. Files sit where ``tracker.demo.mirror``
serves them (``HOST/PATH``; extensionless URLs as ``index.EXT``).
"""

from __future__ import annotations

import html
import io
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOVUK = "https://www.gov.uk/government/publications/ai-cyber-security-code-of-practice"

PRINCIPLES = [
    (
        "Secure design",
        1,
        "Raise awareness of AI security threats",
        "Developers and System Operators",
        [
            "{n}.1 Organisations shall include AI security threats in staff security training.",
            "{n}.2 Training should be refreshed when new classes of attack are published.",
        ],
    ),
    (
        "Secure design",
        2,
        "Design for security as well as function",
        "Developers",
        [
            "{n}.1 Developers shall record the security requirements of each AI system before it is built.",
            "{n}.2 Developers should prefer designs that limit what a model can do on its own.",
        ],
    ),
    (
        "Secure development",
        3,
        "Protect your models and data",
        "Developers and Data Custodians",
        [
            "{n}.1 Developers shall keep an inventory of models, datasets and prompts.",
            "{n}.2 Access to model weights shall be limited to named roles.",
        ],
    ),
    (
        "Secure end of life",
        4,
        "Dispose of models and data securely",
        "Developers and System Operators",
        ["{n}.1 System Operators shall delete model weights and training data they no longer need."],
    ),
]


def govspeak(guide: bool) -> str:
    out = [
        '<div class="govspeak">',
        '<h2 id="introduction">Introduction</h2>',
        "<p>A sample in the shape of a GOV.UK HTML publication, written for the tracker's mirror.</p>",
    ]
    section = ""
    for phase, n, title, who, provisions in PRINCIPLES:
        if phase != section:
            out.append(f"<h3>{phase}</h3>")
            section = phase
        out.append(f"<h4>Principle {n}: {title}</h4>")
        out.append(f"<p><strong>Primarily applies to:</strong> {who}</p>")
        for text in provisions:
            out.append(f"<p>{html.escape(text.format(n=n))}</p>")
            if guide:
                number = text.format(n=n).split(" ", 1)[0]
                out.append(
                    f"<p>{number}.1 How {number} is met should be recorded in the system's documentation.</p>"
                )
    out += [
        '<h2 id="glossary">Glossary</h2>',
        "<p>Developer: an organisation that creates or adapts a model.</p>",
        "</div>",
    ]
    return "\n".join(out)


def content_item(slug: str, title: str, guide: bool, stamp: str) -> dict[str, object]:
    base = f"{GOVUK.removeprefix('https://www.gov.uk')}/{slug}"
    return {
        "base_path": base,
        "content_id": f"00000000-0000-4000-8000-00000000000{2 + guide}",
        "document_type": "html_publication",
        "schema_name": "html_publication",
        "locale": "en",
        "first_published_at": stamp,
        "public_updated_at": stamp,
        "updated_at": stamp,
        "publishing_app": "whitehall",
        "rendering_app": "government-frontend",
        "title": title,
        "description": "",
        "withdrawn_notice": {},
        "details": {
            "body": govspeak(guide),
            "public_timestamp": stamp,
            "first_published_version": True,
            "change_history": [{"public_timestamp": stamp, "note": "First published."}],
        },
        "links": {
            "parent": [
                {
                    "base_path": GOVUK.removeprefix("https://www.gov.uk"),
                    "title": "AI cyber security code of practice",
                }
            ]
        },
    }


def govuk_page(item: dict[str, object]) -> str:
    title = html.escape(str(item["title"]))
    details = item["details"]
    assert isinstance(details, dict)
    return f"""<!DOCTYPE html>
<html lang="en" class="govuk-template">
<head><meta charset="utf-8"><title>{title} - GOV.UK</title>
<meta name="govuk:format" content="html_publication">
<meta name="govuk:public-updated-at" content="{item["public_updated_at"]}">
<link rel="canonical" href="https://www.gov.uk{item["base_path"]}"></head>
<body class="govuk-template__body">
<div class="gem-c-cookie-banner"><p>We use some essential cookies.</p></div>
<main class="govuk-main-wrapper" id="content"><h1 class="gem-c-title__text">{title}</h1>
<p class="publication-header__last-changed">Published 31 January 2025</p>
{details["body"]}
</main></body></html>
"""


NCSC = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Guidelines for secure AI system development - NCSC.GOV.UK</title></head>
<body><header><nav>NCSC navigation</nav></header>
<main>
<h1>Guidelines for secure AI system development (mirror sample)</h1>
<h2>Secure design</h2>
<ul><li>Raise staff awareness of threats and risks.</li><li>Model the threats to your system.</li></ul>
<h2>Secure development</h2>
<ul><li>Secure your supply chain.</li><li>Identify, track and protect your assets.</li></ul>
<h2>Secure deployment</h2>
<ul><li>Secure your infrastructure.</li><li>Develop incident management procedures.</li></ul>
<h2>Secure operation and maintenance</h2>
<ul><li>Monitor your system's behaviour.</li><li>Follow a secure-by-design approach to updates.</li></ul>
</main><footer>Open Government Licence v3.0</footer></body></html>
"""

EURLEX = """<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8"><title>Regulation (EU) 2024/1689 (mirror sample)</title></head>
<body><div id="docHtml"><div class="eli-container">
<div class="eli-main-title" id="tit_1">
<p class="oj-doc-ti">REGULATION (EU) 2024/1689 OF THE EUROPEAN PARLIAMENT AND OF THE COUNCIL
(mirror sample)</p></div>
<div class="eli-subdivision" id="pbl_1"><p class="oj-normal">Whereas:</p>
<div class="eli-subdivision" id="rct_1"><table><tbody><tr>
<td><p class="oj-normal">(1)</p></td>
<td><p class="oj-normal">A sample recital standing where the first recital is published.</p></td>
</tr></tbody></table></div>
</div>
<div id="enc_1"><div id="cpt_III">
<p class="oj-ti-section-1">CHAPTER III</p>
<div class="eli-title" id="cpt_III.tit_1">
<p class="oj-ti-section-2">HIGH-RISK AI SYSTEMS (SAMPLE)</p></div>
<div class="eli-subdivision" id="art_15">
<p class="oj-ti-art">Article 15</p>
<div class="eli-title" id="art_15.tit_1">
<p class="oj-sti-art">Accuracy, robustness and cybersecurity</p></div>
<div id="015.001">
<p class="oj-normal">1.   A sample paragraph standing where the first paragraph is published.</p></div>
<div id="015.005"><p class="oj-normal">5.   Sample systems shall be resilient against:</p>
<table><tbody><tr><td><p class="oj-normal">(a)</p></td>
<td><p class="oj-normal">a sample attack on training data;</p></td></tr></tbody></table>
<table><tbody><tr><td><p class="oj-normal">(b)</p></td>
<td><p class="oj-normal">a sample attack on model inputs.</p></td></tr></tbody></table>
</div></div></div></div>
</div></div></body></html>
"""


def etsi_listing(path: str, folders: list[tuple[str, str]]) -> str:
    """An IIS-style directory listing, as www.etsi.org/deliver/ serves them."""
    rows = "".join(
        f'{stamp}        &lt;dir&gt; <A HREF="{path}{name}/">{name}</A><br>' for name, stamp in folders
    )
    parent = path.rstrip("/").rsplit("/", 1)[0] + "/"
    return (
        f"<html><head><title>www.etsi.org - {path}</title></head><body><H1>www.etsi.org - {path}</H1><hr>\n\n"
        f'<pre><A HREF="{parent}">[To Parent Directory]</A><br><br>{rows}</pre><hr></body></html>\n'
    )


def etsi_folder(path: str, pdf: str, size: int, stamp: str) -> str:
    return (
        f"<html><head><title>www.etsi.org - {path}</title></head><body><H1>www.etsi.org - {path}</H1><hr>\n\n"
        f'<pre><A HREF="{path.rstrip("/").rsplit("/", 1)[0]}/">[To Parent Directory]</A><br><br>'
        f'{stamp} {size:>12} <A HREF="{path}{pdf}">{pdf}</A><br></pre><hr></body></html>\n'
    )


def pdf(identity: str, kind: str, body: list[str]) -> bytes:
    """A small PDF: ETSI-style title page and numbered clauses (reportlab, deterministic)."""
    from reportlab.lib.pagesizes import A5
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    doc = canvas.Canvas(buffer, pagesize=A5, invariant=1)
    doc.setTitle(identity)
    doc.setFont("Helvetica-Bold", 12)
    doc.drawString(40, 520, identity)
    doc.setFont("Helvetica", 9)
    doc.drawString(40, 300, kind)
    doc.drawString(40, 120, "Mirror sample: original text written for the tracker; not the publisher's text.")
    doc.showPage()
    y = 540
    for line in body:
        bold = line[:1].isdigit() and "shall" not in line and "should" not in line
        doc.setFont("Helvetica-Bold" if bold else "Helvetica", 9)
        doc.drawString(40, y, line)
        y -= 16
    doc.showPage()
    doc.save()
    return buffer.getvalue()


ETSI_BODY = [
    "1 Scope",
    "The present document sets out baseline security provisions for AI systems.",
    "2 References",
    "No references are cited in the present document.",
    "3 Definitions",
    "AI system: a system that includes one or more AI models.",
    "4 Overview",
    "Clause 5 groups the provisions by phase of the AI life cycle.",
    "5 Provisions",
    "5.1 Secure design",
    "Provision 5.1-1: System operators shall train staff on threats to AI systems.",
    "Provision 5.1-2: Developers should model threats before deployment.",
    "5.2 Secure development",
    "Provision 5.2-1: Developers shall keep an inventory of models and datasets.",
]


def outputs() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for slug, title, guide in (
        (
            "code-of-practice-for-the-cyber-security-of-ai",
            "Code of Practice for the Cyber Security of AI",
            False,
        ),
        (
            "implementation-guide-for-the-ai-cyber-security-code-of-practice",
            "Implementation Guide for the AI Cyber Security Code of Practice",
            True,
        ),
    ):
        item = content_item(slug, title, guide, "2025-01-31T14:30:00.000+00:00")
        page = GOVUK.removeprefix("https://")
        files[f"www.gov.uk/api/content{page.removeprefix('www.gov.uk')}/{slug}/index.json"] = (
            json.dumps(item, indent=2) + "\n"
        ).encode()
        files[f"{page}/{slug}/index.html"] = govuk_page(item).encode()
    files["www.ncsc.gov.uk/collection/guidelines-secure-ai-system-development/index.html"] = NCSC.encode()
    files["eur-lex.europa.eu/legal-content/EN/TXT/HTML/index@uri=CELEX%3A32024R1689.html"] = EURLEX.encode()
    for series, number, doc, kind in (
        ("etsi_ts", "104223", "TS", "TECHNICAL SPECIFICATION"),
        ("etsi_en", "304223", "EN", "EUROPEAN STANDARD"),
    ):
        folder = f"/deliver/{series}/{number[:4]}00_{number[:4]}99/{number}/"
        name = f"{doc.lower()}_{number}v010101p.pdf"
        data = pdf(f"ETSI {doc} {number[:3]} {number[3:]} V1.1.1 (2025-04)", kind, ETSI_BODY)
        files[f"www.etsi.org{folder}index.html"] = etsi_listing(
            folder, [("01.01.01_60", " 4/14/2025  2:29 PM")]
        ).encode()
        files[f"www.etsi.org{folder}01.01.01_60/index.html"] = etsi_folder(
            f"{folder}01.01.01_60/", name, len(data), " 4/14/2025  2:29 PM"
        ).encode()
        files[f"www.etsi.org{folder}01.01.01_60/{name}"] = data
    from nist_samples import ai_100_1, ai_600_1  # beside this script; reportlab is a dev dependency

    files["nvlpubs.nist.gov/nistpubs/ai/NIST.AI.100-1.pdf"] = ai_100_1()
    files["nvlpubs.nist.gov/nistpubs/ai/NIST.AI.600-1.pdf"] = ai_600_1()
    return files


def main(target: Path = HERE) -> int:
    for relative, data in outputs().items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)
        print(f"{relative}: {len(data)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE))
