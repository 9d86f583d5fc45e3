"""Shared layout for packets: styles, tables, bar charts, the integrity footer, the embedded record.

Every page carries a footer with the record's hash, its position in the audit
ledger and "page x of y". The record itself travels inside the PDF as a JSON
file attachment (``record.json``), so someone holding only the PDF can check it
against the stored record (``xai-gov packet verify``).
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pypdf import PdfReader, PdfWriter
from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from xai_gov.errors import InvalidInput

ATTACHMENT = "record.json"
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
WIDTH = PAGE_WIDTH - 2 * MARGIN
INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#52606d")
RULE = colors.HexColor("#cbd2d9")
FILL = colors.HexColor("#f0f4f8")
TOWARD = colors.HexColor("#c0392b")  # pushes toward the adverse class
AWAY = colors.HexColor("#2e86c1")
FLAG = colors.HexColor("#b9770e")

_base = getSampleStyleSheet()
STYLES = {
    "title": ParagraphStyle("title", parent=_base["Title"], fontSize=17, leading=21, alignment=TA_LEFT,
                            textColor=INK, spaceAfter=2 * mm),
    "subtitle": ParagraphStyle("subtitle", parent=_base["Normal"], fontSize=9.5, leading=12, textColor=MUTED,
                               spaceAfter=4 * mm),
    "h2": ParagraphStyle("h2", parent=_base["Heading2"], fontSize=12.5, leading=15, textColor=INK,
                         spaceBefore=5 * mm, spaceAfter=2 * mm, keepWithNext=1),
    "body": ParagraphStyle("body", parent=_base["Normal"], fontSize=9.5, leading=12.5, textColor=INK),
    "small": ParagraphStyle("small", parent=_base["Normal"], fontSize=8, leading=10, textColor=MUTED),
    "cell": ParagraphStyle("cell", parent=_base["Normal"], fontSize=8.5, leading=10.5, textColor=INK),
    "cellbold": ParagraphStyle("cellbold", parent=_base["Normal"], fontName="Helvetica-Bold", fontSize=8.5,
                               leading=10.5, textColor=INK),
    "flag": ParagraphStyle("flag", parent=_base["Normal"], fontSize=9.5, leading=12.5, textColor=FLAG),
}


@dataclass(frozen=True)
class Integrity:
    """What the footer of every page says."""

    label: str  # e.g. "Explanation record"
    record_sha256: str
    ledger_seq: int | None
    ledger_hash: str | None


def text(value: Any) -> str:
    """Plain text made safe for a Paragraph (reportlab reads a small XML dialect)."""
    return (str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def para(value: Any, style: str = "body") -> Paragraph:
    return Paragraph(text(value), STYLES[style])


def heading(value: str) -> Paragraph:
    return Paragraph(text(value), STYLES["h2"])


def table(rows: Sequence[Sequence[Any]], widths: Sequence[float], *, header: bool = True,
          zebra: bool = True) -> Table:
    """A table whose cells wrap (nothing is cut off), header in bold on a tint."""
    body = [[c if isinstance(c, Flowable) else Paragraph(text(c), STYLES["cellbold" if header and i == 0
                                                                        else "cell"]) for c in row]
            for i, row in enumerate(rows)]
    result = Table(body, colWidths=list(widths), repeatRows=1 if header else 0, hAlign="LEFT")
    style = [("VALIGN", (0, 0), (-1, -1), "TOP"), ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
             ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
             ("TOPPADDING", (0, 0), (-1, -1), 2.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5)]
    if header:
        style += [("BACKGROUND", (0, 0), (-1, 0), FILL), ("LINEBELOW", (0, 0), (-1, 0), 0.75, MUTED)]
    if zebra:
        style += [("BACKGROUND", (0, r), (-1, r), colors.HexColor("#fafbfc"))
                  for r in range(2 if header else 1, len(rows), 2)]
    result.setStyle(TableStyle(style))
    return result


def key_values(pairs: Sequence[tuple[str, Any]], *, key_width: float = 45 * mm) -> Table:
    return table([(k, v) for k, v in pairs], [key_width, WIDTH - key_width], header=False, zebra=False)


def bar_chart(items: Sequence[tuple[str, float]], *, title: str, value_label: str) -> Drawing:
    """Horizontal bars, labelled in the features' words; red pushes toward the adverse class, blue away."""
    items = list(items)[:10]
    bar_height, label_width = 14.0, 72 * mm
    height = bar_height * max(len(items), 1) + 50
    drawing = Drawing(WIDTH, height)
    drawing.add(String(0, height - 12, title, fontName="Helvetica-Bold", fontSize=9, fillColor=INK))
    chart = HorizontalBarChart()
    chart.x, chart.y = label_width, 30
    chart.width, chart.height = WIDTH - label_width - 12, bar_height * max(len(items), 1)
    values = [v for _, v in reversed(items)] or [0.0]
    chart.data = [values]
    chart.categoryAxis.categoryNames = [_shorten(n, 48) for n, _ in reversed(items)] or [""]
    chart.categoryAxis.labels.fontSize = 7.5
    chart.categoryAxis.labels.fontName = "Helvetica"
    chart.categoryAxis.labels.dx = -4
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.categoryAxis.visibleTicks = False
    chart.categoryAxis.joinAxisMode = "left"  # labels at the left edge, not on the zero line among the bars
    limit = max(abs(v) for v in values) or 1.0
    chart.valueAxis.valueMin, chart.valueAxis.valueMax = -limit * 1.1, limit * 1.1
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.labelTextFormat = "%+.2f"
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = RULE
    chart.bars.strokeColor = None
    for i, value in enumerate(values):
        chart.bars[(0, i)].fillColor = TOWARD if value > 0 else AWAY
    drawing.add(chart)
    drawing.add(String(label_width, 2, value_label, fontName="Helvetica", fontSize=7, fillColor=MUTED))
    return drawing


def histogram(values: Sequence[float], *, title: str, bins: int = 10, low: float = 0.0,
              high: float = 1.0, label_format: str = "{:.1f}") -> Drawing:
    """Counts of ``values`` in ``bins`` equal bins over [low, high]; values outside go to the end bins."""
    from reportlab.graphics.charts.barcharts import VerticalBarChart

    counts = [0] * bins
    for value in values:
        index = min(bins - 1, max(0, int((value - low) / (high - low) * bins)))
        counts[index] += 1
    drawing = Drawing(WIDTH / 2 - 4 * mm, 120)
    drawing.add(String(0, 108, title, fontName="Helvetica-Bold", fontSize=8.5, fillColor=INK))
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 28, 22, WIDTH / 2 - 4 * mm - 40, 78
    chart.data = [counts]
    step = (high - low) / bins
    chart.categoryAxis.categoryNames = [label_format.format(low + i * step) for i in range(bins)]
    chart.categoryAxis.labels.fontSize = 6.5
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = max([*counts, 1]) * 1.15
    chart.valueAxis.valueStep = max(1, -(-max([*counts, 1]) // 4))  # whole counts on the axis
    chart.valueAxis.labels.fontSize = 6.5
    chart.valueAxis.labelTextFormat = "%d"
    chart.bars[0].fillColor = AWAY
    chart.bars.strokeColor = None
    drawing.add(chart)
    drawing.add(String(28, 4, f"{len(values)} explanations", fontName="Helvetica", fontSize=6.5, fillColor=MUTED))
    return drawing


def together(*flowables: Flowable) -> KeepTogether:
    return KeepTogether(list(flowables))


def spacer(height_mm: float = 3) -> Spacer:
    return Spacer(1, height_mm * mm)


def render(story: list[Flowable], *, title: str, integrity: Integrity, record: dict[str, Any] | None) -> bytes:
    """Lay the story out on A4 with the integrity footer on every page; attach the record as JSON
    (``record=None``: nothing attached, as for the notice an applicant receives)."""
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                                 bottomMargin=MARGIN + 8 * mm, title=title, author="xai-gov",
                                 subject=f"{integrity.label} {integrity.record_sha256}")
    document.build(story, canvasmaker=_footer_canvas(integrity))
    if record is None:
        return buffer.getvalue()
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(buffer.getvalue())))
    writer.add_attachment(ATTACHMENT, json.dumps(record, sort_keys=True, indent=1).encode("utf-8"))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def read_attachment(data: bytes) -> dict[str, Any]:
    """The record embedded in a packet."""
    try:
        attachments = PdfReader(io.BytesIO(data)).attachments
    except Exception as exc:  # pypdf raises many kinds for a damaged file
        raise InvalidInput(f"not a readable PDF: {exc}", field="pdf") from exc
    if ATTACHMENT not in attachments:
        raise InvalidInput(f"the PDF carries no {ATTACHMENT}: it is not an xai-gov packet", field="pdf")
    try:
        return json.loads(attachments[ATTACHMENT][0])
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the packet's {ATTACHMENT} is not valid JSON: {exc}", field="pdf") from exc


def _footer_canvas(integrity: Integrity) -> type[Canvas]:
    class FooterCanvas(Canvas):
        """Two passes: pages are kept until the end, so each footer can say 'page x of y'."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, page in enumerate(self._pages, start=1):
                self.__dict__.update(page)
                self._draw_footer(number, total)
                super().showPage()
            super().save()

        def _draw_footer(self, number: int, total: int) -> None:
            self.saveState()
            self.setStrokeColor(RULE)
            self.setLineWidth(0.5)
            self.line(MARGIN, MARGIN + 5 * mm, PAGE_WIDTH - MARGIN, MARGIN + 5 * mm)
            self.setFont("Helvetica", 7)
            self.setFillColor(MUTED)
            ledger = (f"ledger event {integrity.ledger_seq} ({integrity.ledger_hash[:16]})"
                      if integrity.ledger_seq is not None and integrity.ledger_hash else "ledger: not recorded")
            self.drawString(MARGIN, MARGIN + 1.5 * mm,
                            f"{integrity.label} sha256 {integrity.record_sha256}  |  {ledger}")
            self.drawRightString(PAGE_WIDTH - MARGIN, MARGIN - 2 * mm, f"page {number} of {total}")
            self.restoreState()

    return FooterCanvas


def _shorten(value: str, length: int) -> str:
    return value if len(value) <= length else value[: length - 3] + "..."
