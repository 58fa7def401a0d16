"""The briefing as one self-contained HTML page: no external files, charts inline as base64 PNG data URIs.

Sized to print on one page of A4 (210 mm wide) or Letter (279 mm tall): the printable area is the smaller
of the two, 190 x 259 mm with 10 mm margins.
"""

from __future__ import annotations

import base64
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.views.brief_model import Briefing, Section
    from engine.views.key_figures import Kpi

CSS = """
@page { margin: 10mm; }
* { box-sizing: border-box; }
html { background: #eef0f2; }
body { margin: 0; color: #1d232a; font: 9pt/1.3 "Helvetica Neue", Helvetica, Arial, "Liberation Sans",
       "DejaVu Sans", sans-serif; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
.page { width: 190mm; margin: 8mm auto; padding: 0; background: #fff; }
@media screen { .page { padding: 8mm; width: 206mm; box-shadow: 0 1px 6px rgba(0,0,0,.15); } }
@media print { html, body { background: #fff; } .page { margin: 0; } }
header { border-bottom: 2px solid #1d232a; padding-bottom: 2mm; margin-bottom: 3mm; }
h1 { font-size: 15pt; margin: 0 0 1mm; line-height: 1.2; }
.meta { color: #555; font-size: 8.5pt; }
.note { background: #fff4d6; border-left: 4px solid #e0a400; padding: 1.5mm 3mm; margin: 0 0 3mm;
        font-weight: 600; }
.verdict { font-size: 12.5pt; font-weight: 700; margin: 0 0 3mm; line-height: 1.3; }
.kpis { display: grid; grid-template-columns: repeat(4, 1fr); gap: 2.5mm; margin-bottom: 3mm; }
.kpi { border: 1px solid #d5d9de; border-radius: 2mm; padding: 2mm 2.5mm; }
.kpi .label { font-size: 7pt; color: #555; text-transform: uppercase; white-space: nowrap; }
.kpi .value { font-size: 15pt; font-weight: 700; line-height: 1.2; }
.kpi .cmp { font-size: 8pt; }
.kpi .how { font-size: 6.8pt; line-height: 1.25; color: #555; margin-top: 1mm; }
.badge { display: inline-block; font-size: 6.5pt; font-weight: 700; text-transform: uppercase; padding: 0 1.2mm;
         border-radius: 1mm; margin-right: 1mm; color: #fff; background: #4e79a7; }
.badge.estimated, .badge.partly { background: #b36b00; }
.badge.unknown { background: #777; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 3mm; margin-bottom: 3mm; align-items: start; }
figure { margin: 0; }
figure img { width: 100%; height: auto; max-height: var(--chart-mm); object-fit: contain; display: block; }
.cols { display: grid; grid-template-columns: 1fr 1fr; gap: 4mm; margin-bottom: 2mm; }
h2 { font-size: 10.5pt; margin: 0 0 1mm; border-bottom: 1px solid #d5d9de; padding-bottom: .5mm; }
section { font-size: 8.5pt; }
section p { margin: 0 0 .8mm; }
section ul { margin: 0 0 1mm; padding-left: 4mm; }
table { border-collapse: collapse; width: 100%; font-size: 8pt; margin: 0 0 1mm; }
caption { text-align: left; font-weight: 700; padding-bottom: .5mm; }
.notes { margin: 0 0 1mm; }
th, td { text-align: right; padding: .2mm 1.2mm; border-bottom: 1px solid #e3e6e9; }
th:first-child, td:first-child { text-align: left; }
footer { border-top: 1px solid #d5d9de; padding-top: 1.5mm; color: #555; font-size: 6.8pt; line-height: 1.25; }
footer p { margin: 0 0 .8mm; }
"""


def _kpi(kpi: Kpi) -> str:
    badge = kpi.how.split()[0]  # "partly measured" -> "partly"
    return (f'<div class="kpi"><div class="label">{escape(kpi.label)}</div>'
            f'<div class="value">{escape(kpi.value)}</div><div class="cmp">{escape(kpi.comparison)}</div>'
            f'<div class="how"><span class="badge {escape(badge)}">{escape(kpi.how)}</span>{escape(kpi.method)}. '
            f"{escape(kpi.context)}</div></div>")


def _section(section: Section, bullets: bool) -> str:
    if bullets:
        body = "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in section.lines) + "</ul>"
    else:
        body = "".join(f"<p>{escape(line)}</p>" for line in section.lines)
    return f"<section><h2>{escape(section.heading)}</h2>{body}</section>"


def _table(section: Section) -> str:
    """The section's table across the page, with its title and the notes below it."""
    if not section.table:
        return "".join(f'<p class="notes">{escape(n)}</p>' for n in section.notes)
    head, *rows = section.table
    return (f'<table><caption>{escape(section.table_title)}</caption><thead><tr>'
            + "".join(f"<th>{escape(c)}</th>" for c in head) + "</tr></thead><tbody>"
            + "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
            + "</tbody></table>" + "".join(f'<p class="notes">{escape(n)}</p>' for n in section.notes))


CHART_MM = 74.0  # tallest chart on a page with short recommendation and what-if sections
TABLE_CHART_MM = 56.0  # with a what-if table: HTML cannot re-flow to fit the way the PDF does, so charts give way


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def render_html(b: Briefing) -> str:
    note = f'<p class="note">{escape(b.note)}</p>' if b.note else ""
    figures = "".join(f'<figure><img src="{data_uri(c.png)}" alt="{escape(c.alt)}" title="{escape(c.title)}">'
                      "</figure>" for c in b.charts)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(b.title)} ({escape(b.task)}, {escape(b.prepared_on)})</title>
<style>:root {{ --chart-mm: {TABLE_CHART_MM if b.whatif.table else CHART_MM:g}mm; }}{CSS}</style>
</head>
<body>
<main class="page">
<header>
<h1>{escape(b.title)}</h1>
<div class="meta">Task: {escape(b.task)} · Prepared {escape(b.prepared_on)} (UTC) · Figures {escape(b.measured)}</div>
</header>
{note}
<p class="verdict">{escape(b.verdict)}</p>
<div class="kpis">{"".join(_kpi(k) for k in b.kpis)}</div>
<div class="charts">{figures}</div>
<div class="cols">{_section(b.recommendation, bullets=False)}{_section(b.whatif, bullets=True)}</div>
{_table(b.whatif)}
<footer>{"".join(f"<p>{escape(line)}</p>" for line in b.footer)}</footer>
</main>
</body>
</html>
"""
