"""Keys that cannot lock the district out: production refuses development keys, field keys rotate,
and a wrong key shows in /healthz and one log line at start — never as a 500 at login."""

from __future__ import annotations

import logging
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Text, select, type_coerce

from app import create_app
from app.extensions import db
from app.models.users import User
from app.services.crypto import DEV_SECRET_KEY, ConfigurationError, log_key_check
from tests.fixtures import USE_REDIS, close_app, config_for_tests, process_env

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("overrides", "variable"), [
    ({"SECRET_KEY": DEV_SECRET_KEY}, "SECRET_KEY"),
    ({"SECRET_KEY": ""}, "SECRET_KEY"),
    ({"FIELD_ENCRYPTION_KEYS": None, "FIELD_ENCRYPTION_KEY": None}, "FIELD_ENCRYPTION_KEYS"),
    ({"FIELD_ENCRYPTION_KEYS": ["test-secret"]}, "FIELD_ENCRYPTION_KEYS must not contain SECRET_KEY"),
])
@pytest.mark.parametrize("production", ["postgresql+psycopg://toolbox@db/toolbox", "TOOLBOX_ENV"])
def test_production_refuses_development_keys_and_names_the_variable(tmp_path, overrides, variable, production):
    config = {**config_for_tests(tmp_path), **overrides}
    if production == "TOOLBOX_ENV":
        config.update(TOOLBOX_ENV="production", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'p.db'}")
    else:
        config["SQLALCHEMY_DATABASE_URI"] = production
    with pytest.raises(ConfigurationError, match=variable):
        create_app(config)


def test_the_embedded_default_starts_with_the_development_key(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'dev.db'}", "SECRET_KEY": DEV_SECRET_KEY,
                      "FIELD_ENCRYPTION_KEYS": None, "FIELD_ENCRYPTION_KEY": None, "REDIS_URL": None})
    close_app(app)


def test_a_production_process_refuses_to_start_and_says_what_to_set(app, tmp_path):
    env = process_env(app, SECRET_KEY="", FIELD_ENCRYPTION_KEYS="", TOOLBOX_ENV="production")
    env.pop("SECRET_KEY")
    result = subprocess.run([sys.executable, "-m", "flask", "toolbox", "tools", "list"], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "set SECRET_KEY" in result.stderr


def test_the_old_single_key_setting_is_still_accepted(make_app, district):
    single = make_app(FIELD_ENCRYPTION_KEYS=None, FIELD_ENCRYPTION_KEY="test-field-key-of-its-own")
    with single.app_context():
        assert db.session.execute(select(User).where(User.wecom_userid == "ja01-operator")
                                  ).scalar_one().mobile.startswith("13")


def _raw_mobiles() -> dict[str, str]:
    return dict(db.session.execute(select(User.wecom_userid, type_coerce(User.mobile, Text))).all())


def test_rotate_keys_re_encrypts_every_personal_field_with_the_newest_key(make_app, district, runner):
    from tests.fixtures import TEST_FIELD_KEY

    rotating = make_app(FIELD_ENCRYPTION_KEYS=["brand-new-key", TEST_FIELD_KEY])
    with rotating.app_context():
        before = _raw_mobiles()
        plain = {u.wecom_userid: u.mobile for u in db.session.execute(select(User)).scalars()}
    result = rotating.test_cli_runner().invoke(args=["toolbox", "rotate-keys", "--inline"])
    assert result.exit_code == 0, result.output
    assert f"app_user.mobile: {len(before)} re-encrypted" in result.output
    new_only = make_app(FIELD_ENCRYPTION_KEYS=["brand-new-key"])
    with new_only.app_context():
        after = _raw_mobiles()
        assert all(after[u] != before[u] for u in before)
        assert {u.wecom_userid: u.mobile for u in db.session.execute(select(User)).scalars()} == plain
    again = rotating.test_cli_runner().invoke(args=["toolbox", "rotate-keys", "--inline"])
    assert "0 re-encrypted" in again.output and f"{len(before)} already current" in again.output


@pytest.mark.skipif(not USE_REDIS, reason="the job runs inline without Redis")
def test_rotate_keys_runs_as_a_job_with_progress(make_app, district):
    from rq import SimpleWorker

    from app.jobs import get_queue
    from app.services.key_rotation import rotate_keys_job
    from tests.fixtures import TEST_FIELD_KEY

    rotating = make_app(FIELD_ENCRYPTION_KEYS=["job-key", TEST_FIELD_KEY])
    with rotating.app_context():
        queued = rotate_keys_job.delay()
        queue = get_queue("default")
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
        queued.refresh()
        assert queued.get_status() == "finished"
        assert queued.meta["progress"]["done"] == queued.meta["progress"]["total"] > 0
        assert queued.return_value()["rotated"] > 0 and queued.return_value()["unreadable"] == 0


@contextmanager
def wrong_field_key(app):
    previous = app.config["FIELD_ENCRYPTION_KEYS"]
    app.config["FIELD_ENCRYPTION_KEYS"] = ["not-the-key-the-data-was-written-with"]
    try:
        yield
    finally:
        app.config["FIELD_ENCRYPTION_KEYS"] = previous


def test_a_wrong_key_shows_in_healthz_and_at_start_never_as_a_500_at_login(app, client, district, wecom_sim, caplog):
    with wrong_field_key(app):
        login = client.post("/api/v1/auth/wecom/miniprogram", json={"code": wecom_sim.code("ja01g01-worker")})
        assert login.status_code == 200, login.get_data(as_text=True)[:300]
        assert login.get_json()["user"]["mobile"] == ""
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {login.get_json()['token']}"})
        assert me.status_code == 200
        health = client.get("/healthz").get_json()
        assert health["status"] == "degraded"
        assert health["encryption"].startswith("error: FIELD_ENCRYPTION_KEYS cannot decrypt")
        assert "app_user.mobile" in health["encryption"]
        with caplog.at_level(logging.ERROR, logger="app.services.crypto"):
            log_key_check(app)
        lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(lines) == 1 and "set FIELD_ENCRYPTION_KEYS" in lines[0] and "app_user.mobile" in lines[0]
    assert client.get("/healthz").get_json()["encryption"] == "ok"


def test_an_unreadable_value_is_never_written_back(app, district):
    from app.services.crypto import FieldKeyError

    with wrong_field_key(app), app.app_context():
        worker = db.session.execute(select(User).where(User.wecom_userid == "ja01g01-worker")).scalar_one()
        clone = User(wecom_userid="copy-of-worker", name="复制", mobile=worker.mobile)
        db.session.add(clone)
        with pytest.raises(Exception) as caught:
            db.session.flush()
        assert isinstance(caught.value, FieldKeyError) or isinstance(getattr(caught.value, "orig", None),
                                                                      FieldKeyError)
        db.session.rollback()


def test_the_ciphers_are_built_once_per_process(ctx, district):
    from app.services import crypto

    crypto._ciphers.cache_clear()
    db.session.execute(select(User)).scalars().all()
    info = crypto._ciphers.cache_info()
    assert info.misses == 1 and info.hits > 100
