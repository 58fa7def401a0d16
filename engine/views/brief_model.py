"""The briefing's content as plain data: what engine.views.brief gathers and brief_html / brief_pdf lay out."""

from __future__ import annotations

from dataclasses import dataclass

from engine.views.key_figures import Kpi


@dataclass(frozen=True)
class ChartImage:
    title: str
    png: bytes
    alt: str


@dataclass(frozen=True)
class Section:
    heading: str
    lines: tuple[str, ...]
    table: tuple[tuple[str, ...], ...] = ()  # first row: the header; laid out across the page
    table_title: str = ""
    notes: tuple[str, ...] = ()  # below the table


@dataclass(frozen=True)
class Briefing:
    title: str
    task: str
    prepared_on: str  # ISO date (UTC) the briefing was made
    measured: str  # when and on what the figures were measured
    verdict: str
    note: str  # e.g. "Reference results measured on ... — not this machine"; "" for live results
    kpis: tuple[Kpi, ...]
    charts: tuple[ChartImage, ...]
    recommendation: Section
    whatif: Section
    footer: tuple[str, ...]
