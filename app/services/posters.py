"""Printable A4 posters of a place's Jing'an code (PNG or PDF), and a street's posters as one ZIP.

Chinese text needs a CJK font: CJK_FONT_PATH, or one of the Debian fonts below
(`apt-get install fonts-wqy-zenhei` or `fonts-noto-cjk`; `make run`/`make test` install one).
Without one, poster requests fail with a clear 503 instead of printing boxes.
"""

from __future__ import annotations

import io
import logging
import os
import zipfile
from functools import lru_cache

from flask import current_app
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select

from app.errors import ApiError
from app.extensions import db
from app.jobs import job
from app.models.base import utcnow
from app.models.place import Place, PlacePosterBatch
from app.services import media, places
from app.services.like import starts_with

log = logging.getLogger(__name__)

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/System/Library/Fonts/PingFang.ttc",
)
DPI = 150
A4 = (1240, 1754)  # 210 × 297 mm at 150 dpi
FORMATS = {"png": "image/png", "pdf": "application/pdf"}


def find_cjk_font() -> str | None:
    configured = current_app.config.get("CJK_FONT_PATH")
    if configured:  # an explicit setting wins; a wrong path is a missing font, not a silent fallback
        return configured if os.path.exists(configured) else None
    return next((c for c in FONT_CANDIDATES if os.path.exists(c)), None)


def _font_missing() -> ApiError:
    return ApiError(503, "cjk_font_missing", "服务器缺少中文字体，暂时无法生成海报（请安装 fonts-wqy-zenhei）",
                    "No CJK font is installed; set CJK_FONT_PATH or install fonts-wqy-zenhei / fonts-noto-cjk")


@lru_cache(maxsize=16)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def _centered(draw: ImageDraw.ImageDraw, y: int, text: str, font, fill=(0, 0, 0), max_width: int = 1080) -> int:
    """Draw text centred at y, wrapping by characters (Chinese has no spaces); return the next y."""
    lines, line = [], ""
    for ch in text:
        if draw.textlength(line + ch, font=font) > max_width and line:
            lines.append(line)
            line = ch
        else:
            line += ch
    if line:
        lines.append(line)
    for ln in lines:
        width = draw.textlength(ln, font=font)
        draw.text(((A4[0] - width) / 2, y), ln, font=font, fill=fill)
        y += int(font.size * 1.35)
    return y


def render_poster(place: Place) -> Image.Image:
    """The A4 poster: title, place name, QR code, the code in letters, instructions."""
    font_path = find_cjk_font()
    if font_path is None:
        raise _font_missing()
    img = Image.new("RGB", A4, "white")
    draw = ImageDraw.Draw(img)
    red = (196, 30, 42)
    draw.rectangle([0, 0, A4[0], 230], fill=red)
    _centered(draw, 45, "静安码 · 随手拍", _font(font_path, 96), fill="white")
    _centered(draw, 170, "静安区「一网统管」城市运行管理", _font(font_path, 36), fill="white")
    y = _centered(draw, 290, place.name, _font(font_path, 64))
    if place.address:
        y = _centered(draw, y + 5, place.address, _font(font_path, 36), fill=(80, 80, 80))
    qr = places.qr_image(place, box_size=20).convert("RGB")
    side = 760
    qr = qr.resize((side, side), Image.Resampling.NEAREST)
    qr_top = max(y + 30, 470)
    img.paste(qr, ((A4[0] - side) // 2, qr_top))
    y = qr_top + side + 20
    y = _centered(draw, y, f"编码 {place.code}", _font(font_path, 44), fill=(60, 60, 60))
    y = _centered(draw, y + 20, "发现问题？用手机相机或微信扫一扫", _font(font_path, 46))
    y = _centered(draw, y, "拍照上报，无需登录，可随时查看处理进度", _font(font_path, 40), fill=(60, 60, 60))
    footer = _footer(place)
    draw.rectangle([0, A4[1] - 150, A4[0], A4[1]], fill=(245, 245, 245))
    _centered(draw, A4[1] - 125, footer, _font(font_path, 34), fill=(60, 60, 60))
    _centered(draw, A4[1] - 75, "紧急情况请拨打 110 / 119 / 120", _font(font_path, 30), fill=red)
    return img


def _mm(px: float) -> float:
    return px * 25.4 / DPI


def render_poster_pdf(place: Place) -> bytes:
    """The same A4 poster as a PDF of real text (searchable, sharp at any print size) in the CJK font."""
    from fpdf import FPDF

    font_path = find_cjk_font()
    if font_path is None:
        raise _font_missing()
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.set_title(f"静安码 {place.code} {place.name}")
    pdf.set_author("静安区城运中心")
    pdf.set_creator("静安工具箱")
    pdf.add_font("cjk", fname=font_path)
    pdf.add_page()
    red = (196, 30, 42)

    def centred(y_px: float, text: str, size_px: int, color=(0, 0, 0)) -> float:
        pdf.set_font("cjk", size=size_px * 72 / DPI)
        pdf.set_text_color(*color)
        line = _mm(size_px * 1.35)
        pdf.set_xy(_mm(80), _mm(y_px))
        pdf.multi_cell(_mm(1080), line, text, align="C", wrapmode="CHAR")
        return (pdf.get_y() / 25.4) * DPI

    pdf.set_fill_color(*red)
    pdf.rect(0, 0, 210, _mm(230), style="F")
    centred(45, "静安码 · 随手拍", 96, (255, 255, 255))
    centred(170, "静安区「一网统管」城市运行管理", 36, (255, 255, 255))
    y = centred(290, place.name, 64)
    if place.address:
        y = centred(y + 5, place.address, 36, (80, 80, 80))
    side, qr_top = 760, max(y + 30, 470)
    pdf.image(places.qr_image(place, box_size=20).convert("RGB"), x=_mm((A4[0] - side) / 2), y=_mm(qr_top),
              w=_mm(side), h=_mm(side))
    y = centred(qr_top + side + 20, f"编码 {place.code}", 44, (60, 60, 60))
    y = centred(y + 20, "发现问题？用手机相机或微信扫一扫", 46)
    centred(y, "拍照上报，无需登录，可随时查看处理进度", 40, (60, 60, 60))
    pdf.set_fill_color(245, 245, 245)
    pdf.rect(0, _mm(A4[1] - 150), 210, _mm(150), style="F")
    centred(A4[1] - 125, _footer(place), 34, (60, 60, 60))
    centred(A4[1] - 75, "紧急情况请拨打 110 / 119 / 120", 30, red)
    return bytes(pdf.output())


def _footer(place: Place) -> str:
    street = place.street
    return f"{street.name} · {place.org_unit.name}" if street and street is not place.org_unit else \
        place.org_unit.name


def poster_bytes(place: Place, fmt: str) -> bytes:
    if fmt not in FORMATS:
        raise ApiError(422, "invalid_format", "格式只能是 png 或 pdf", "Format must be png or pdf")
    if fmt == "pdf":
        return render_poster_pdf(place)
    buf = io.BytesIO()
    render_poster(place).save(buf, "PNG", dpi=(DPI, DPI), optimize=True)
    return buf.getvalue()


def street_places(unit) -> list[Place]:
    return list(db.session.execute(
        select(Place).where(starts_with(Place.org_path, unit.path), Place.active.is_(True))
        .order_by(Place.org_path, Place.name, Place.id)).scalars())


def request_batch(unit, fmt: str, requested_by) -> PlacePosterBatch:
    """Queue a ZIP of unit's posters in the caller's transaction (the outbox); audited. API and console use it."""
    from app.services import audit

    batch = PlacePosterBatch(org_unit=unit, org_unit_id=unit.id, format=fmt, status="queued",
                             requested_by_id=getattr(requested_by, "id", None), total=len(street_places(unit)))
    db.session.add(batch)
    db.session.flush()
    audit.record("place.posters_export", target_type="org_unit", target_id=unit.code,
                 detail={"batch": batch.id, "format": batch.format})
    build_poster_batch.delay(batch.id)
    return batch


def _set_rq_progress(batch: PlacePosterBatch) -> None:
    from rq import get_current_job
    current = get_current_job()
    if current is not None:
        current.meta["progress"] = batch.progress
        current.meta["done"], current.meta["total"] = batch.done, batch.total
        current.save_meta()


@job("default", timeout=1800)
def build_poster_batch(batch_id: int) -> str:
    """Render every active place of the unit's subtree into one ZIP; progress is kept on the batch row."""
    batch = db.session.get(PlacePosterBatch, batch_id)
    if batch is None:
        return "missing"
    batch.status, batch.done, batch.error = "running", 0, None
    rows = street_places(batch.org_unit)
    batch.total = len(rows)
    db.session.commit()
    try:
        if find_cjk_font() is None:
            raise _font_missing()
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for place in rows:
                name = f"{place.org_unit.code}/{place.code}-{_safe(place.name)}.{batch.format}"
                zf.writestr(name, poster_bytes(place, batch.format))
                batch.done += 1
                db.session.commit()
                _set_rq_progress(batch)
        batch.file_key = media.put_file(f"exports/posters/batch-{batch.id}.zip", buf.getvalue())
        batch.status, batch.finished_at = "finished", utcnow()
    except ApiError as err:
        batch.status, batch.error = "failed", err.message
    except (OSError, ValueError) as exc:
        log.exception("poster batch %s failed", batch_id)
        batch.status, batch.error = "failed", f"{type(exc).__name__}: {exc}"
    db.session.commit()
    _set_rq_progress(batch)
    return batch.status


def _safe(name: str) -> str:
    return "".join(ch for ch in name if ch not in '\\/:*?"<>|').strip()[:40] or "place"
