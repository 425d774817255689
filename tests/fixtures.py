"""Shared fixtures. The suite runs on PostgreSQL and Redis when reachable, SQLite otherwise.

TEST_DATABASE_URL / TEST_REDIS_URL choose the servers (defaults: the CI machine's). On CI
(CI=true) a missing server is an error, never a silent fallback.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import redis
from sqlalchemy import create_engine, event, inspect, select, text

from app import create_app
from app.extensions import db

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TEST_FIELD_KEY = "test-field-key-of-its-own"
REQUIRE_SERVICES = os.environ.get("CI") == "true" or os.environ.get("TOOLBOX_REQUIRE_SERVICES") == "1"


def _postgres_reachable() -> bool:
    if os.environ.get("TOOLBOX_TEST_SQLITE") == "1":
        return False
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001
        return False


def _redis_reachable() -> bool:
    if os.environ.get("TOOLBOX_TEST_NO_REDIS") == "1":
        return False
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except Exception:  # noqa: BLE001
        return False


USE_POSTGRES = _postgres_reachable()
USE_REDIS = _redis_reachable()
if REQUIRE_SERVICES and not (USE_POSTGRES and USE_REDIS):
    raise RuntimeError(f"CI needs PostgreSQL ({PG_URL}: {USE_POSTGRES}) and Redis ({REDIS_URL}: {USE_REDIS})")

needs_redis = pytest.mark.skipif(not USE_REDIS, reason="Redis not reachable")
needs_postgres = pytest.mark.skipif(not USE_POSTGRES, reason="PostgreSQL not reachable")


def pytest_report_header(config):
    database = f"PostgreSQL {PG_URL}" if USE_POSTGRES else "SQLite (PostgreSQL not reachable)"
    jobs = f"Redis {REDIS_URL} (real RQ workers)" if USE_REDIS else "no Redis (jobs inline)"
    return [f"database: {database}", f"redis: {jobs}"]


def pytest_terminal_summary(terminalreporter):
    for line in pytest_report_header(None):
        terminalreporter.write_line(f"ran against {line}")


def config_for_tests(tmp_path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "FIELD_ENCRYPTION_KEYS": [TEST_FIELD_KEY],
        "SQLALCHEMY_DATABASE_URI": PG_URL if USE_POSTGRES else f"sqlite:///{tmp_path / 'test.db'}",
        "REDIS_URL": REDIS_URL if USE_REDIS else None,
        "JOB_RETRY_INTERVALS": [0, 0],
        "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
    }


def process_env(app, **extra) -> dict:
    """The environment for a separate process (flask CLI, RQ worker) on the test app's servers and keys."""
    import os as _os

    return {**_os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": app.config["REDIS_URL"] or "", "SECRET_KEY": app.config["SECRET_KEY"],
            "FIELD_ENCRYPTION_KEYS": ",".join(app.config["FIELD_ENCRYPTION_KEYS"]), "FLASK_APP": "wsgi", **extra}


def reset_schema(app) -> None:
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        else:
            db.drop_all()
        db.create_all()


def empty_tables(app) -> None:
    with app.app_context():
        db.session.remove()
        existing = set(inspect(db.engine).get_table_names())  # a tool's models may be loaded, not its tables
        tables = [t.name for t in reversed(db.metadata.sorted_tables) if t.name in existing]
        with db.engine.begin() as conn:
            if db.engine.dialect.name == "postgresql":
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    conn.execute(text(f"DELETE FROM {table}"))
    for cache in app.extensions.get("local_caches", {}).values():
        cache.clear()  # the raw DELETEs above bypass the ORM that bumps the caches' versions


def close_app(app) -> None:
    """Release an app's database and Redis connections (unclosed ones are test errors)."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if app.extensions.get("redis") is not None:
        app.extensions["redis"].close()


@contextmanager
def statements(app):
    """The SQL statements the app sends meanwhile (a list that fills while the block runs)."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    app = create_app(config_for_tests(tmp_path_factory.mktemp("db")))
    reset_schema(app)
    yield app
    close_app(app)


@pytest.fixture
def make_app(app, tmp_path):
    """Factory for a second app on the same database with other settings; closed after the test.

    On the shared test database it creates the tables of tools the first app did not load (e.g. the
    sample tools'); an app on another database (a migration test's) gets nothing made for it.
    """
    apps = []

    def create(**overrides):
        config = {**config_for_tests(tmp_path), "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                  **overrides}
        new_app = create_app(config)
        apps.append(new_app)
        if "SQLALCHEMY_DATABASE_URI" not in overrides:
            with new_app.app_context():
                db.create_all()
        return new_app

    yield create
    for created in apps:
        close_app(created)


@pytest.fixture(autouse=True)
def _clean_state(request, app):
    """Every test starts with empty tables, an empty Redis database and fresh rate limits."""
    yield
    empty_tables(app)
    if USE_REDIS:
        redis.Redis.from_url(REDIS_URL).flushdb()
    from app.services import ratelimit
    ratelimit._memory.clear()


@contextmanager
def temporary_media_root(app, path):
    """Point MEDIA_ROOT at path (a test's tmp dir) for the duration."""
    previous = app.config.get("MEDIA_ROOT")
    app.config["MEDIA_ROOT"] = str(path)
    try:
        yield path
    finally:
        app.config["MEDIA_ROOT"] = previous


@pytest.fixture
def media_root(app, tmp_path):
    """Photos and posters stored under the test's own folder (MEDIA_ROOT)."""
    with temporary_media_root(app, tmp_path / "media") as path:
        yield path


@pytest.fixture
def ctx(app):
    """An application context for tests that call services directly."""
    with app.app_context():
        yield
        db.session.rollback()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@dataclass
class District:
    """The seeded Jing'an district, with look-ups by code and userid."""

    app: object

    def unit(self, code: str):
        from app.models.org import OrgUnit
        return db.session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one()

    def user(self, userid: str):
        from app.models.users import User
        return db.session.execute(select(User).where(User.wecom_userid == userid)).scalar_one()


@pytest.fixture
def district(app):
    from app.services.district import seed
    with app.app_context():
        seed()
    return District(app)


class Auth:
    def __init__(self, app):
        self.app = app

    def token(self, userid: str) -> str:
        from app.auth import issue_token
        from app.models.users import User
        with self.app.app_context():
            user = db.session.execute(select(User).where(User.wecom_userid == userid)).scalar_one()
            token, _ = issue_token(user, client="test")
            db.session.commit()
        return token

    def headers(self, userid: str) -> dict:
        return {"Authorization": f"Bearer {self.token(userid)}"}


@pytest.fixture
def auth(app):
    return Auth(app)


@pytest.fixture
def make_user(app):
    """Factory: make_user("u1", ("JA01", "worker"), ...) creates a user with those memberships."""
    from app.models.org import OrgUnit
    from app.models.users import Membership, User

    def create(userid: str, *memberships: tuple[str, str], name: str = "测试用户", mobile: str | None = None,
               active: bool = True):
        with app.app_context():
            user = User(wecom_userid=userid, name=name, mobile=mobile, active=active)
            for unit_code, role in memberships:
                unit = db.session.execute(select(OrgUnit).where(OrgUnit.code == unit_code)).scalar_one()
                user.memberships.append(Membership(org_unit=unit, role=role))
            db.session.add(user)
            db.session.commit()
            return user.id
    return create


# --- WeCom: the app over real HTTP, and the local WeCom simulator ------------------------------

class LiveServer:
    """The test app served over HTTP on a free loopback port (so the simulator can call back)."""

    def __init__(self, app):
        import threading

        from werkzeug.serving import make_server

        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="live-server", daemon=True)
        self._thread.start()

    def stop(self):
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="session")
def live_server(app):
    server = LiveServer(app)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _wecom_sim_server(app, live_server):
    from app.wecom.simulator import SimulatorServer, simulator_from_config

    server = SimulatorServer(simulator_from_config(app.config, f"{live_server.url}/wecom/callback")).start()
    yield server
    server.stop()


@pytest.fixture
def wecom_sim(app, _wecom_sim_server, live_server):
    """A running WeCom simulator (fresh state per test) that the app's WeCom client talks to."""
    from app.wecom import client as wecom_client
    from app.wecom.simulator import SimulatorClient

    sim = SimulatorClient(_wecom_sim_server.url, f"{live_server.url}/wecom/callback")
    sim.reset()
    wecom_client._memory_tokens._data.clear()
    from app.wecom import jssdk
    jssdk._memory.clear()
    app.extensions.pop("wecom_clients", None)
    app.config["WECOM_API_BASE"] = sim.api_base
    app.config["WECOM_OAUTH_BASE"] = f"{sim.url}/connect/oauth2/authorize"
    return sim


# --- pages in a real headless Chromium (Debian's), with screenshots kept as test artefacts ---------

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
ARTIFACTS_DIR = os.environ.get("TEST_ARTIFACTS_DIR") or os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "test-artifacts")


@pytest.fixture
def chromium():
    """Factory: chromium(width, height, user_agent=None) → a selenium driver (quit after the test).

    Without Debian's chromium and chromium-driver the test is skipped, and on CI it fails."""
    import shutil

    drivers = []

    def start(width: int = 390, height: int = 844, user_agent: str | None = None):
        if not (os.path.exists(CHROMIUM) and shutil.which(CHROMEDRIVER)):
            message = "Debian chromium / chromium-driver not installed (make test installs them)"
            if REQUIRE_SERVICES:
                pytest.fail(message)
            pytest.skip(message)
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service

        options = Options()
        options.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    f"--window-size={max(width, 500)},{height}", "--lang=zh-CN", "--hide-scrollbars"):
            options.add_argument(arg)
        # The page sees exactly width × height CSS pixels (a headless window is at least 500 wide).
        emulation = {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 1.0}}
        if user_agent:
            emulation["userAgent"] = user_agent
        options.add_experimental_option("mobileEmulation", emulation)
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        driver.set_page_load_timeout(30)
        drivers.append(driver)
        return driver

    yield start
    for driver in drivers:
        driver.quit()


class Screenshots:
    """Numbered full-page screenshots of a walk, in TEST_ARTIFACTS_DIR/<walk>/ (printed at the end)."""

    def __init__(self, folder: str):
        import shutil

        self.folder, self.count = folder, 0
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder, exist_ok=True)

    def take(self, driver, name: str) -> str:
        """The whole page, not just the fold (Chromium's captureBeyondViewport)."""
        import base64

        self.count += 1
        path = os.path.join(self.folder, f"{self.count:02d}-{name}.png")
        driver.execute_script("window.scrollTo(0, 0)")  # sticky bars where they belong
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"captureBeyondViewport": True, "fromSurface": True})
        with open(path, "wb") as fh:
            fh.write(base64.b64decode(shot["data"]))
        return path


@pytest.fixture
def screenshots(request):
    shots = Screenshots(os.path.join(ARTIFACTS_DIR, request.node.name))
    yield shots
    print(f"\nscreenshots of {request.node.name}: {shots.folder} ({shots.count} files)")  # noqa: T201


# --- a third-party tool, installed from its own distribution through its entry point -------------------

PLUGIN_PYPROJECT = """
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "jingan-noise-monitor"
version = "0.2.0"

[project.entry-points."jingan_toolbox.tools"]
noise_monitor = "jingan_noise_monitor:tool"
"""

PLUGIN_MODULE = '''
from flask import Blueprint, jsonify
from app.toolkit import Category, Manifest, Tool

blueprint = Blueprint("noise_monitor", __name__)


@blueprint.get("/hello")
def hello():
    return jsonify({"hello": "噪声监测"})


tool = Tool(manifest=Manifest(code="noise_monitor", name="噪声监测", icon="sound", version="0.2.0",
                              roles=("worker",), categories=(Category("noise", "夜间施工噪声"),)),
            blueprint=blueprint)
'''


@pytest.fixture
def installed_plugin(tmp_path):
    """Build a tiny separate distribution exposing the entry point, and install it on sys.path."""
    source = tmp_path / "plugin-src"
    (source / "jingan_noise_monitor").mkdir(parents=True)
    (source / "pyproject.toml").write_text(textwrap.dedent(PLUGIN_PYPROJECT))
    (source / "jingan_noise_monitor" / "__init__.py").write_text(PLUGIN_MODULE)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--no-build-isolation", "--target", str(target), str(source)],
                   check=True, capture_output=True)
    sys.path.insert(0, str(target))
    yield target
    sys.path.remove(str(target))
    sys.modules.pop("jingan_noise_monitor", None)
