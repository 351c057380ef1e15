"""The printable onboarding sheet: one QR code per observer, each the field app's sign-in link.

At a training evening every observer scans their own code with the phone's camera; the app
stores the token and forgets the link (saylau/ingest/fieldapp/app.js). A card shows the
observer id and the station, never a name or phone number, so a sheet left on a table
gives away no one's identity; it does hold working tokens, so it is shredded after use.

QR codes come from segno (pure Python, well kept, SVG and PNG without other libraries);
the PDF from fpdf2 (pure Python, embeds the PNGs; no browser or system library needed on the
machine that prints). Both are built from the same cards.
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import segno
from fpdf import FPDF

CARDS_PER_ROW, ROWS_PER_PAGE = 2, 4


@dataclass(frozen=True)
class Card:
    observer_id: str
    station_id: str  # "" when the roster assigns none (they check in where they are sent)
    link: str  # the sign-in link; it holds the token


def sign_in_link(gateway_url: str, token: str) -> str:
    """The app's address with the token in the fragment (browsers never send a fragment,
    so it reaches no server log)."""
    return f"{gateway_url.rstrip('/')}/app/#token={token}"


def qr_svg(link: str) -> str:
    code = segno.make(link, error="m")
    return str(code.svg_inline(scale=4, border=2, omitsize=False))


def qr_png(link: str) -> bytes:
    out = io.BytesIO()
    segno.make(link, error="m").save(out, kind="png", scale=6, border=2)
    return out.getvalue()


def sheet_html(cards: Sequence[Card], title: str) -> str:
    items = "\n".join(
        f'<div class="card"><div class="qr">{qr_svg(card.link)}</div>'
        f'<p class="who">{html.escape(card.observer_id)}</p>'
        f'<p class="where">{html.escape(card.station_id or "—")}</p></div>'
        for card in cards)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 10mm; }}
.cards {{ display: grid; grid-template-columns: 1fr 1fr; gap: 6mm; }}
.card {{ border: 1px dashed #444; padding: 4mm; text-align: center; break-inside: avoid; }}
.qr svg {{ width: 45mm; height: 45mm; }}
.who {{ font-size: 16pt; font-weight: bold; margin: 2mm 0 0; }}
.where {{ font-size: 13pt; margin: 1mm 0 0; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Scan your own code with the phone's camera and open the link: the app signs you in.
Shred this sheet after the training: the codes are working sign-ins.</p>
<div class="cards">
{items}
</div></body></html>
"""


def sheet_pdf(cards: Sequence[Card], title: str) -> bytes:
    """A4 pages of 2 x 4 cards. Ids are ASCII (the contract's pattern), so the core font
    serves; the title is the same line as on the HTML sheet."""
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(False)
    width, height = 95.0, 68.0
    for number, card in enumerate(cards):
        slot = number % (CARDS_PER_ROW * ROWS_PER_PAGE)
        if slot == 0:
            pdf.add_page()
            pdf.set_font("helvetica", "B", 12)
            pdf.text(10, 10, _latin1(title))
        x = 10 + (slot % CARDS_PER_ROW) * width
        y = 15 + (slot // CARDS_PER_ROW) * height
        pdf.set_draw_color(120, 120, 120)
        pdf.rect(x, y, width - 5, height - 5)
        pdf.image(io.BytesIO(qr_png(card.link)), x=x + 3, y=y + 3, w=50, h=50)
        pdf.set_font("helvetica", "B", 13)
        pdf.text(x + 56, y + 20, card.observer_id)
        pdf.set_font("helvetica", "", 11)
        pdf.text(x + 56, y + 30, card.station_id or "-")
    return bytes(pdf.output())


def write_sheet(cards: Sequence[Card], out_dir: Path, title: str) -> tuple[Path, Path]:
    """``onboarding.html`` and ``onboarding.pdf`` in `out_dir`, readable by the owner only."""
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path, pdf_path = out_dir / "onboarding.html", out_dir / "onboarding.pdf"
    for path, data in ((html_path, sheet_html(cards, title).encode("utf-8")),
                       (pdf_path, sheet_pdf(cards, title))):
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        path.write_bytes(data)
    return html_path, pdf_path


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")
