"""A4 posters (PNG/PDF) with a CJK font, graceful failure without one, and a street's ZIP job."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image

from app.services.posters import A4, find_cjk_font
from tests.citizen_support import run_jobs
from tests.fixtures import USE_REDIS


@pytest.fixture
def font_available(app):
    with app.app_context():
        if find_cjk_font() is None:
            pytest.skip("no CJK font installed (make test installs fonts-wqy-zenhei)")

pytestmark = pytest.mark.usefixtures("media_root")


def add_place(client, headers, unit, name):
    response = client.post("/api/v1/places", headers=headers,
                           json={"name": name, "kind": "building", "org_unit": unit, "address": "某某路1号"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["code"]


def test_poster_png_is_a4_and_pdf_is_a_pdf(client, district, auth, font_available):
    headers = auth.headers("ja01-operator")
    code = add_place(client, headers, "JA01G02", "昌平路 100 弄 3 号楼")
    png = client.get(f"/api/v1/places/{code}/poster.png", headers=headers)
    assert png.status_code == 200 and png.mimetype == "image/png"
    img = Image.open(io.BytesIO(png.data))
    assert img.size == A4
    assert img.getpixel((10, 10)) != (255, 255, 255)  # the red banner
    pdf = client.get(f"/api/v1/places/{code}/poster.pdf", headers=headers)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")


def test_the_pdf_poster_carries_real_text_not_only_a_picture_of_it(client, district, auth, font_available):
    from pypdf import PdfReader

    headers = auth.headers("ja01-operator")
    code = add_place(client, headers, "JA01G02", "昌平路 100 弄 3 号楼")
    pdf = client.get(f"/api/v1/places/{code}/poster.pdf", headers=headers)
    reader = PdfReader(io.BytesIO(pdf.data))
    page = reader.pages[0]
    assert len(reader.pages) == 1 and round(float(page.mediabox.width)) == 595  # A4 in points
    text = page.extract_text().replace(" ", "")
    for expected in ("静安码·随手拍", "昌平路100弄3号楼", f"编码{code}", "拍照上报", "110/119/120"):
        assert expected in text, (expected, text)
    assert reader.metadata.title == f"静安码 {code} 昌平路 100 弄 3 号楼"


def test_poster_without_a_cjk_font_fails_with_a_clear_503(app, client, district, auth):
    headers = auth.headers("ja01-operator")
    code = add_place(client, headers, "JA01G02", "测试楼")
    app.config["CJK_FONT_PATH"] = "/nonexistent/font.ttc"
    try:
        response = client.get(f"/api/v1/places/{code}/poster.pdf", headers=headers)
    finally:
        app.config["CJK_FONT_PATH"] = None
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "cjk_font_missing"


def test_street_posters_zip_is_built_by_a_job_with_progress(app, client, district, auth, font_available):
    headers = auth.headers("ja01-operator")
    codes = {add_place(client, headers, unit, f"地点{i}") for i, unit in enumerate(["JA01G01", "JA01G02", "JA01"])}
    add_place(client, auth.headers("ja02-operator"), "JA02G01", "别的街道")
    response = client.post("/api/v1/places/poster-batches", headers=headers, json={"org_unit": "JA01",
                                                                                 "format": "png"})
    assert response.status_code == 202, response.get_json()
    batch = response.get_json()
    assert batch["total"] == 3
    if USE_REDIS:  # queued, not built yet (without Redis the job already ran inline)
        assert batch["status"] == "queued" and batch["download_url"] is None
    run_jobs(app, "default")
    status = client.get(f"/api/v1/places/poster-batches/{batch['id']}", headers=headers).get_json()
    assert (status["status"], status["done"], status["total"], status["progress"]) == ("finished", 3, 3, 1.0)
    download = client.get(status["download_url"], headers=headers)
    assert download.status_code == 200 and download.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(download.data)).namelist()
    assert len(names) == 3 and {n.split("/")[1].split("-")[0] for n in names} == codes
    assert all(n.endswith(".png") for n in names)
    # Another street's operator cannot see or download it.
    assert client.get(f"/api/v1/places/poster-batches/{batch['id']}",
                      headers=auth.headers("ja02-operator")).status_code == 404


def test_poster_batch_job_records_failure_without_a_font(app, client, district, auth):
    headers = auth.headers("ja01-operator")
    add_place(client, headers, "JA01G01", "地点")
    app.config["CJK_FONT_PATH"] = "/nonexistent/font.ttc"
    try:
        batch = client.post("/api/v1/places/poster-batches", headers=headers, json={"org_unit": "JA01"}).get_json()
        run_jobs(app, "default")
    finally:
        app.config["CJK_FONT_PATH"] = None
    status = client.get(f"/api/v1/places/poster-batches/{batch['id']}", headers=headers).get_json()
    assert status["status"] == "failed" and "字体" in status["error"]
    assert client.get(f"/api/v1/places/poster-batches/{batch['id']}/download", headers=headers).status_code == 409


def test_cli_creates_places_and_writes_a_units_posters(app, runner, district, tmp_path, font_available):
    created = runner.invoke(args=["toolbox", "places", "create", "石门二路 1 号", "--unit", "JA02G01",
                                  "--kind", "building"])
    assert created.exit_code == 0, created.output
    code = created.output.split()[0]
    assert created.output.strip().endswith(f"/h5/c/{code}")
    assert code in runner.invoke(args=["toolbox", "places", "list", "--unit", "JA02"]).output
    out = tmp_path / "posters.zip"
    result = runner.invoke(args=["toolbox", "places", "posters", "--unit", "JA02", "--format", "pdf",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert [n.split("/")[1][:10] for n in zipfile.ZipFile(out).namelist()] == [code]
