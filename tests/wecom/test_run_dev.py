"""`make run` starts the simulator with the app's own WECOM_* values, whatever they are."""

import socket

from app.run_dev import start_simulator
from app.wecom.client import get_client


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_simulator_follows_custom_wecom_settings(make_app):
    port = _free_port()
    app = make_app(WECOM_CORP_ID="ww_custom", WECOM_SECRET="s3cret", WECOM_AGENT_ID="1000777", WECOM_TOKEN="tk",
                   WECOM_AES_KEY="ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210abcdefg",
                   WECOM_API_BASE=f"http://127.0.0.1:{port}/cgi-bin/")
    server = start_simulator(app, "127.0.0.1", 5999)
    try:
        assert server.url == f"http://127.0.0.1:{port}"
        assert server.app.config["CALLBACK_URL"] == "http://127.0.0.1:5999/wecom/callback"
        with app.app_context():
            assert get_client().get_user("ja01g01-worker")["name"] == "江宁网格员01"
            assert get_client().send_text(["ja-admin"], "hi")[0]["errcode"] == 0
    finally:
        server.stop()


def test_no_simulator_for_a_real_wecom_host(make_app):
    app = make_app(WECOM_API_BASE="https://qyapi.weixin.qq.com/cgi-bin/")
    assert start_simulator(app, "127.0.0.1", 5000) is None


def test_make_run_runs_the_periodic_jobs_in_process(make_app, tmp_path):
    """A real `python -m app.run_dev` on the embedded default settles a stale duplicate offer by itself."""
    import os
    import subprocess
    import sys
    import threading
    import time
    from datetime import timedelta
    from pathlib import Path

    from sqlalchemy import select, update

    from app.extensions import db
    from app.models.base import utcnow
    from app.services.district import seed
    from app.services.places import create_place
    from toolbox.citizen_report.models import CitizenReport
    from toolbox.citizen_report.services import Submission, file_report

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    demo = make_app(SQLALCHEMY_DATABASE_URI=url, REDIS_URL=None)
    with demo.app_context():
        db.create_all()
        seed()
        place = create_place(name="延平路 123 号", kind="building", org_unit=seed_unit("JA01G01"), address="延平路")
        db.session.commit()
        for text in ("人行道地砖松动绊人", "这里地砖也松了"):
            file_report(place, Submission(category="facilities", description=text, privacy_accepted=True))
        draft = db.session.execute(select(CitizenReport).where(CitizenReport.status == "draft")).scalar_one()
        db.session.execute(update(CitizenReport).where(CitizenReport.id == draft.id)
                           .values(created_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
        draft_id = draft.id
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "TOOLBOX_ENV")}
    env.update(DATABASE_URL=url, INSTANCE_PATH=str(tmp_path), MEDIA_ROOT=str(tmp_path / "media"),
               WECOM_API_BASE=f"http://127.0.0.1:{_free_port()}/cgi-bin/")
    process = subprocess.Popen([sys.executable, "-m", "app.run_dev", "--port", str(_free_port()), "--no-simulator",
                                "--scheduler-tick", "1"], env=env, cwd=Path(__file__).resolve().parents[2],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    # The scheduler logs what it ran after the jobs finish: read its log as it comes, not only at the end.
    reader = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)
    reader.start()

    def logged_the_run() -> bool:
        return any("periodic jobs run:" in line and "citizen_report.settle_drafts" in line for line in list(lines))

    try:
        deadline, status = time.monotonic() + 90, "draft"
        while (status == "draft" or not logged_the_run()) and time.monotonic() < deadline \
                and process.poll() is None:
            time.sleep(0.5)
            with demo.app_context():
                status = db.session.get(CitizenReport, draft_id).status
                db.session.remove()
        assert status == "joined", (status, process.poll())
        assert logged_the_run(), "".join(lines)[-2000:]
    finally:
        process.terminate()
        process.wait(timeout=30)
        reader.join(timeout=5)
        process.stderr.close()


def seed_unit(code):
    from sqlalchemy import select

    from app.extensions import db
    from app.models.org import OrgUnit
    return db.session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one()
