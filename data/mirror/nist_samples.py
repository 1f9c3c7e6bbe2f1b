"""The NIST AI 100-1 and AI 600-1 mirror samples, in NIST's PDF layouts (used by make_samples.py).

The wording is ORIGINAL and short; the identifiers (GOVERN 1.1, GV-1.1-001) are NIST's, so that
keys can be checked against the AI RMF renditions in the corpus. Only the layout imitates
NIST: a title page with the publication number and month, a running header with the
publication number and a page-number footer, prose sections, then

* AI 100-1: one two-column table per function, "Categories" on the left and the
  category's subcategories stacked on the right, each cell wrapping on its own;
* AI 600-1: per subcategory, its outcome as a heading line, a three-column table ("Action
  ID", "Suggested Action", "GAI Risks") and an "AI Actor Tasks:" line below it.

The faults a real printing has are built in: table rows broken by a page break, words
hyphenated at a line end ("~" in the text below), risks wrapping within their column.
"""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A5
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen import canvas

BODY, BOLD, SIZE, LEADING = "Helvetica", "Helvetica-Bold", 8, 10
LEFT, RIGHT, TOP, BOTTOM = 36, 384, 545, 60

CORE = [
    (
        "GOVERN",
        "5.1 Govern",
        "Governance is a cross-cutting function that informs and is infused throughout the others.",
        [
            (
                "GOVERN 1: Policies, processes and practices for mapping, measuring and managing AI risks "
                "are in place, transparent and applied effectively.",
                [
                    "GOVERN 1.1: Legal and regulatory requirements on AI are understood, managed and "
                    "documented.",
                    "GOVERN 1.2: The characteristics of trustworthy AI are built into "
                    "organiza~tional policies, "
                    "processes and practices.",
                ],
            ),
            (
                "GOVERN 2: Accountability structures give teams the authority and training to manage "
                "AI risks.",
                [
                    "GOVERN 2.1: Roles, responsibilities and lines of communication for AI risk are "
                    "documented "
                    "and clear to people across the organization.",
                ],
            ),
        ],
    ),
    (
        "MAP",
        "5.2 Map",
        "The map function establishes the context in which AI risks are framed.",
        [
            (
                "MAP 1: Context is established and understood.",
                [
                    "MAP 1.1: The intended purposes, beneficial uses, laws, norms and expectations "
                    "of the setting "
                    "where the system is deployed are understood and documented.",
                    "MAP 1.2: Teams that establish the context reflect diverse disciplines and demographics.",
                ],
            ),
        ],
    ),
    (
        "MEASURE",
        "5.3 Measure",
        "The measure function analyses and tracks AI risks with quantitative and qualitative tools.",
        [
            (
                "MEASURE 1: Appropriate methods and metrics are identified and applied.",
                [
                    "MEASURE 1.1: Approaches and metrics for the most significant AI risks are "
                    "selected and applied."
                ],
            ),
        ],
    ),
    (
        "MANAGE",
        "5.4 Manage",
        "The manage function allocates resources to the risks that were mapped and measured.",
        [
            (
                "MANAGE 1: Risks are prioritized and acted upon based on their projected impact.",
                ["MANAGE 1.1: A decision is made on whether the AI system meets its intended purposes."],
            ),
        ],
    ),
]

PROFILE = [
    (
        "GOVERN 1.1: Legal and regulatory requirements involving AI are understood, managed, and documented.",
        [
            (
                "GV-1.1-001",
                "Align the development and use of generative AI with the laws that apply to it, including "
                "privacy and intellectual property law.",
                "Data Privacy; Harmful Bias and Homogenization; Intellectual Property",
            )
        ],
        "Governance and Oversight",
    ),
    (
        "GOVERN 1.2: The characteristics of trustworthy AI are integrated into organizational policies, "
        "processes, procedures, and practices.",
        [
            (
                "GV-1.2-001",
                "Set policies that record where training data and generated content come from, balancing the "
                "rights of the owners of that content against the needs of the organization.",
                "Data Privacy; Information Integrity; Intellectual Property",
            ),
            (
                "GV-1.2-002",
                "Define acceptable uses of generative AI in the organiza~tion and the review a new "
                "use must pass "
                "before it is allowed, with the people who decide and the records they keep of each "
                "decision and "
                "of the risks they weighed when they made it.",
                "Confabulation; Dangerous, Violent, or Hateful Content; Obscene, Degrading, and/or Abusive "
                "Content",
            ),
        ],
        "Governance and Oversight",
    ),
    (
        "MAP 1.1: Intended purposes, potentially beneficial uses, context specific laws, norms and "
        "expectations, "
        "and prospective settings in which the AI system will be deployed are understood and documented.",
        [
            (
                "MP-1.1-001",
                "Document the settings a generative AI system is meant for and those it must not be used in.",
                "Value Chain and Component Integration",
            )
        ],
        "AI Deployment, AI Design, AI Development, Operation and Monitoring, TEVV",
    ),
    (
        "MEASURE 2.2: Evaluations involving human subjects meet applicable requirements and are "
        "representative "
        "of the relevant population.",
        [
            (
                "MS-2.2-001",
                "Assess whether people whose data trains or tests a model have agreed to that use.",
                "Data Privacy; Human-AI Configuration",
            )
        ],
        "AI Development, Human Factors, TEVV",
    ),
    (
        "MANAGE 2.3: Procedures are followed to respond to and recover from a previously unknown "
        "risk when it is "
        "identified.",
        [
            (
                "MG-2.3-001",
                "Write incident response and recovery procedures for generative AI failures, and "
                "rehearse them.",
                "Confabulation; Information Security",
            )
        ],
        "AI Deployment, Operation and Monitoring",
    ),
]

RISKS = ["CBRN Information or Capabilities", "Confabulation", "Data Privacy", "Human-AI Configuration"]
RISKS += ["Information Integrity", "Information Security", "Intellectual Property"]


def _wrap(text: str, font: str, width: float) -> list[str]:
    """Lines of ``text`` within ``width``; "~" is a line end with a hyphen."""
    pieces = text.split("~")
    out: list[str] = []
    for n, piece in enumerate(pieces):
        out += simpleSplit(piece + ("-" if n < len(pieces) - 1 else ""), font, SIZE, width)
    return out


class _Writer:
    def __init__(self, number: str, running: str, title: list[str], month: str) -> None:
        self.buffer = io.BytesIO()
        self.pdf = canvas.Canvas(self.buffer, pagesize=A5, invariant=1)
        self.pdf.setTitle(f"NIST AI {number}")
        self.header = running
        self.page = 1
        self.pdf.setFont(BOLD, 12)
        self.pdf.drawString(LEFT, 520, f"NIST AI {number}")
        self.pdf.setFont(BOLD, 11)
        for i, line in enumerate(title):
            self.pdf.drawString(LEFT, 470 - 14 * i, line)
        self.pdf.setFont(BODY, 9)
        self.pdf.drawString(LEFT, 380, "This publication is available free of charge from a mirror sample.")
        self.pdf.drawString(LEFT, 300, month)
        self.pdf.drawString(
            LEFT, 120, "Mirror sample: original text written for the tracker; not NIST's text."
        )
        self.y = 0.0
        self.new_page()

    def new_page(self) -> None:
        self.pdf.showPage()
        self.page += 1
        self.y = TOP
        self.pdf.setFont(BODY, 7)
        self.pdf.drawString(LEFT, 575, self.header)
        self.pdf.drawCentredString((LEFT + RIGHT) / 2, 30, str(self.page))

    def text(self, text: str, font: str = BODY, space: float = 0.5) -> None:
        for line in _wrap(text, font, RIGHT - LEFT):
            if self.y < BOTTOM:
                self.new_page()
            self.pdf.setFont(font, SIZE)
            self.pdf.drawString(LEFT, self.y, line)
            self.y -= LEADING
        self.y -= LEADING * space

    def row(self, cells: list[list[str]], starts: list[float], font: str = BODY) -> None:
        """One table row; a page break may fall inside it, as in the publisher's printing."""
        height = max(len(c) for c in cells)
        for i in range(height):
            if self.y < BOTTOM:
                self.new_page()
            self.pdf.setFont(font, SIZE)
            for x, cell in zip(starts, cells, strict=True):
                if i < len(cell):
                    self.pdf.drawString(LEFT + x, self.y, cell[i])
            self.y -= LEADING
        self.y -= LEADING * 0.4

    def done(self) -> bytes:
        self.pdf.showPage()
        self.pdf.save()
        return self.buffer.getvalue()


def ai_100_1() -> bytes:
    out = _Writer(
        "100-1",
        "NIST AI 100-1                                                                       AI RMF 1.0",
        ["Artificial Intelligence Risk Management", "Framework (AI RMF 1.0)"],
        "January 2023",
    )
    out.text("1. Framing Risk", BOLD)
    out.text("A mirror sample standing where the publication frames AI risk, its audience and its uses.")
    out.text("5. AI RMF Core", BOLD)
    out.text("The Core is made of four functions, each divided into categories and subcategories.")
    split = 150
    for number, (function, heading, intro, rows) in enumerate(CORE, start=1):
        out.text(heading, BOLD)
        out.text(intro)
        out.text(f"Table {number}: Categories and subcategories for the {function} function.")
        out.row([["Categories"], ["Subcategories"]], [0, split], BOLD)
        for category, subcategories in rows:
            right: list[str] = []
            for sub in subcategories:
                right += [*_wrap(sub, BODY, RIGHT - LEFT - split), ""]
            out.row([_wrap(category, BODY, split - 12), right[:-1]], [0, split])
    out.text("6. AI RMF Profiles", BOLD)
    out.text("Profiles apply the functions to a setting or application.")
    return out.done()


def ai_600_1() -> bytes:
    out = _Writer(
        "600-1",
        "NIST AI 600-1                                                     Generative AI Profile",
        [
            "Artificial Intelligence Risk Management",
            "Framework: Generative Artificial",
            "Intelligence Profile",
        ],
        "July 2024",
    )
    out.text("1. Introduction", BOLD)
    out.text("A mirror sample standing where the profile introduces generative AI risk management.")
    out.text("2. Overview of Risks Unique to or Exacerbated by GAI", BOLD)
    for number, risk in enumerate(RISKS, start=1):
        out.text(f"2.{number}. {risk}", BOLD)
        out.text(
            "A sample paragraph standing where the risk is described, long enough to move the tables below."
        )
    out.text("3. Suggested Actions to Manage GAI Risks", BOLD)
    out.text("The actions below are grouped by the AI RMF subcategory they help to achieve.")
    starts = [0, 62, 250]
    widths = [starts[1] - 6, starts[2] - starts[1] - 8, RIGHT - LEFT - starts[2]]
    for outcome, actions, actors in PROFILE:
        out.text(outcome, BOLD, space=0.3)
        out.row([["Action ID"], ["Suggested Action"], ["GAI Risks"]], starts, BOLD)
        for ident, action, risks in actions:
            cells = [[ident], _wrap(action, BODY, widths[1]), _wrap(risks, BODY, widths[2])]
            out.row(cells, starts)
        out.text(f"AI Actor Tasks: {actors}", space=1.0)
    out.text("Appendix A. Primary GAI Considerations", BOLD)
    out.text("A sample paragraph standing where the appendix begins.")
    return out.done()
