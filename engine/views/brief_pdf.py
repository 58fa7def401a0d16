"""The briefing as a one-page PDF (fpdf2): the same content as the HTML page, charts as PNG images.

Fonts: DejaVu Sans is embedded when its TTF files are found (Debian: fonts-dejavu-core), so '·', '≥' and 'CO₂'
print as written; otherwise a PDF core font (Helvetica, Latin-1 only) is used and the text is reduced to
Latin-1 first. One page is guaranteed by laying out again with smaller charts until everything fits.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING

from fpdf import FPDF

from engine.views.images import png_size_px

if TYPE_CHECKING:
    from engine.views.brief_model import Briefing, Section
    from engine.views.key_figures import Kpi

DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")
DEJAVU = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
PAPERS = {"a4": "A4", "letter": "Letter"}
MARGIN_MM = 10.0
CHART_CAPS_MM = (82.0, 70.0, 60.0, 50.0, 40.0)  # tallest chart allowed, tried in turn until one page holds all
INK, GREY, LINE = (29, 35, 42), (85, 85, 85), (213, 217, 222)
BADGE = {"measured": (78, 121, 167), "estimated": (179, 107, 0), "partly": (179, 107, 0), "unknown": (119, 119, 119)}

# Characters outside Latin-1 that the text uses, for the core-font fallback; anything else becomes '?'.
LATIN1 = str.maketrans({"≥": ">=", "≤": "<=", "₂": "2", "—": "-", "–": "-", "−": "-", "…": "...", "’": "'",
                        "‘": "'", "“": '"', "”": '"', "→": "->", "≈": "~", "⚠": "!", "€": "EUR", "✓": "v"})


def latin1(text: str) -> str:
    """Text a PDF core font can show: known symbols spelled out, anything else outside Latin-1 as '?'."""
    return text.translate(LATIN1).encode("latin-1", "replace").decode("latin-1")


class _Pdf(FPDF):
    def __init__(self, paper: str, font_dir: Path | None) -> None:
        super().__init__(orientation="P", unit="mm", format=paper)
        self.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
        self.set_auto_page_break(True, margin=MARGIN_MM)
        self.family = "Helvetica"
        self.unicode = False
        if font_dir is not None and all((font_dir / f).is_file() for f in DEJAVU.values()):
            for style, name in DEJAVU.items():
                self.add_font("DejaVu", style, str(font_dir / name))
            self.family, self.unicode = "DejaVu", True

    def text_of(self, text: str) -> str:
        return text.replace("⚠", "!") if self.unicode else latin1(text)

    def font(self, size: float, bold: bool = False, color: tuple[int, int, int] = INK) -> None:
        self.set_font(self.family, "B" if bold else "", size)
        self.set_text_color(*color)

    def para(self, text: str, size: float, *, bold: bool = False, color: tuple[int, int, int] = INK,
             x: float | None = None, w: float = 0, line: float | None = None) -> None:
        """A wrapped paragraph at x (default: left margin), w wide (0: to the right margin); y moves down."""
        self.font(size, bold, color)
        if x is not None:
            self.set_x(x)
        self.multi_cell(w, line or size * 0.45, self.text_of(text), align="L", new_x="LEFT", new_y="NEXT")


def paper_size(paper: str) -> str:
    """fpdf2's name for a paper size; ValueError for anything but A4 and Letter."""
    size = PAPERS.get(paper.strip().lower())
    if size is None:
        raise ValueError(f"Unknown paper '{paper}': use A4 or Letter.")
    return size


def render_pdf(b: Briefing, paper: str = "A4", font_dir: str | os.PathLike | None = None) -> bytes:
    """PDF bytes of the briefing on exactly one page of `paper` ("A4" or "Letter")."""
    size = paper_size(paper)
    fonts = Path(font_dir) if font_dir is not None else DEJAVU_DIR
    for cap in CHART_CAPS_MM:
        pdf = _layout(b, size, fonts, cap, allow_break=True)
        if pdf.pages_count == 1:
            return bytes(pdf.output())
    return bytes(_layout(b, size, fonts, CHART_CAPS_MM[-1], allow_break=False).output())  # clipped, one page


def _layout(b: Briefing, paper: str, font_dir: Path, chart_cap_mm: float, allow_break: bool) -> _Pdf:
    pdf = _Pdf(paper, font_dir)
    pdf.set_auto_page_break(allow_break, margin=MARGIN_MM)
    pdf.set_title(pdf.text_of(f"{b.title} ({b.task})"))
    pdf.set_author("Rightsize")
    pdf.add_page()
    width = pdf.epw
    pdf.para(b.title, 15, bold=True, line=6.5)
    pdf.para(f"Task: {b.task} · Prepared {b.prepared_on} (UTC) · Figures {b.measured}", 8, color=GREY)
    _rule(pdf, 0.5)
    if b.note:
        _note(pdf, b.note)
    pdf.para(b.verdict, 12.5, bold=True, line=5.6)
    pdf.ln(1.5)
    _kpis(pdf, b.kpis)
    _charts(pdf, b, chart_cap_mm)
    top = pdf.get_y()
    half = (width - 5) / 2
    left_end = _section(pdf, b.recommendation, pdf.l_margin, half, bullets=False)
    pdf.set_y(top)
    right_end = _section(pdf, b.whatif, pdf.l_margin + half + 5, half, bullets=True)
    pdf.set_y(max(left_end, right_end) + 1)
    _table_block(pdf, b.whatif)
    _rule(pdf, 0.2)
    for line in b.footer:
        pdf.para(line, 7, color=GREY, line=3)
        pdf.ln(0.5)
    return pdf


def _rule(pdf: _Pdf, width_mm: float) -> None:
    pdf.ln(1)
    pdf.set_draw_color(*(INK if width_mm >= 0.5 else LINE))
    pdf.set_line_width(width_mm)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + pdf.epw, pdf.get_y())
    pdf.ln(2)


def _note(pdf: _Pdf, text: str) -> None:
    pdf.set_fill_color(255, 244, 214)
    pdf.font(9.5, bold=True)
    pdf.multi_cell(0, 5, pdf.text_of(text), align="L", fill=True, padding=(1, 2, 1, 3), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _kpis(pdf: _Pdf, kpis: tuple[Kpi, ...]) -> None:
    gap, pad = 2.5, 2.0
    box = (pdf.epw - gap * (len(kpis) - 1)) / max(1, len(kpis))
    top = pdf.get_y()
    bottoms = []
    for i, kpi in enumerate(kpis):
        x = pdf.l_margin + i * (box + gap) + pad
        inner = box - 2 * pad
        pdf.set_y(top + pad)
        pdf.para(kpi.label.upper(), 7, color=GREY, x=x, w=inner, line=3)
        pdf.para(kpi.value, 15, bold=True, x=x, w=inner, line=7)
        pdf.para(kpi.comparison, 7.5, x=x, w=inner, line=3.2)
        pdf.ln(0.8)
        _badge(pdf, kpi.how, x)
        pdf.para(f"{kpi.method}. {kpi.context}", 6.8, color=GREY, x=x, w=inner, line=2.9)
        bottoms.append(pdf.get_y() + pad)
    bottom = max(bottoms)
    pdf.set_draw_color(*LINE)
    pdf.set_line_width(0.3)
    for i in range(len(kpis)):
        pdf.rect(pdf.l_margin + i * (box + gap), top, box, bottom - top, round_corners=True, corner_radius=1.5)
    pdf.set_y(bottom + 3)


def _badge(pdf: _Pdf, how: str, x: float) -> None:
    pdf.set_fill_color(*BADGE.get(how.split()[0], BADGE["unknown"]))
    pdf.font(6, bold=True, color=(255, 255, 255))
    pdf.set_x(x)
    text = pdf.text_of(how.upper())
    pdf.cell(pdf.get_string_width(text) + 2, 3, text, fill=True, new_x="LEFT", new_y="NEXT")
    pdf.ln(0.6)


def _charts(pdf: _Pdf, b: Briefing, cap_mm: float) -> None:
    if not b.charts:
        return
    gap = 4.0
    cell = (pdf.epw - gap * (len(b.charts) - 1)) / len(b.charts)
    top, bottom = pdf.get_y(), pdf.get_y()
    for i, chart in enumerate(b.charts):
        w_px, h_px = png_size_px(chart.png)
        w, h = cell, cell * h_px / w_px
        if h > cap_mm:  # too tall for the page: shrink, keep the proportions
            w, h = w * cap_mm / h, cap_mm
        pdf.image(io.BytesIO(chart.png), x=pdf.l_margin + i * (cell + gap), y=top, w=w, h=h,
                  alt_text=pdf.text_of(chart.alt))
        bottom = max(bottom, top + h)
    pdf.set_y(bottom + 3)


def _section(pdf: _Pdf, section: Section, x: float, w: float, bullets: bool) -> float:
    """A heading, its lines and its table in a column; returns the y where the column ends."""
    pdf.para(section.heading, 10, bold=True, x=x, w=w, line=4.5)
    pdf.set_draw_color(*LINE)
    pdf.set_line_width(0.2)
    pdf.line(x, pdf.get_y(), x + w, pdf.get_y())
    pdf.ln(1)
    for line in section.lines:
        pdf.para(("- " if bullets else "") + line, 8.2, x=x, w=w, line=3.6)
        pdf.ln(0.5)
    return pdf.get_y()


def _table_block(pdf: _Pdf, section: Section) -> None:
    """The section's table across the page, its title above and its notes below."""
    if section.table:
        pdf.para(section.table_title, 8.2, bold=True, line=3.8)
        _table(pdf, section.table, pdf.l_margin, pdf.epw)
    for note in section.notes:
        pdf.para(note, 8.2, line=3.6)
        pdf.ln(0.5)


def _table(pdf: _Pdf, rows: tuple[tuple[str, ...], ...], x: float, w: float) -> None:
    first = w * 0.55  # the variant's name; the figures share the rest
    rest = (w - first) / max(1, len(rows[0]) - 1)
    for n, row in enumerate(rows):
        pdf.font(7.5, bold=n == 0)
        pdf.set_x(x)
        for i, cell in enumerate(row):
            cw = first if i == 0 else rest
            pdf.cell(cw, 3.6, _fit(pdf, pdf.text_of(cell), cw - 1), align="L" if i == 0 else "R",
                     border="B" if n == 0 else 0)
        pdf.ln(3.6)


def _fit(pdf: _Pdf, text: str, width_mm: float) -> str:
    """Text cut to the width with '...' (a cell does not wrap)."""
    if pdf.get_string_width(text) <= width_mm:
        return text
    while text and pdf.get_string_width(text + "...") > width_mm:
        text = text[:-1]
    return text + "..."
