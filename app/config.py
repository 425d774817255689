"""Settings from environment variables, with embedded defaults for a first run.

Every setting a deployment may change is read here and nowhere else.
"""

from __future__ import annotations

import os
from pathlib import Path

INSTANCE_DIR = Path(os.environ.get("INSTANCE_PATH", Path(__file__).resolve().parent.parent / "instance"))


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _normalise_db_url(url: str) -> str:
    # Heroku-style and bare postgres URLs select psycopg 3, the driver we ship.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _oauth_base(api_base: str) -> str:
    """WeCom's authorize URL in production; the simulator's stand-in when the API is local."""
    from urllib.parse import urlsplit

    parts = urlsplit(api_base)
    if parts.hostname in ("127.0.0.1", "localhost", "::1"):
        return f"{parts.scheme}://{parts.netloc}/connect/oauth2/authorize"
    return "https://open.weixin.qq.com/connect/oauth2/authorize"


def from_environment() -> dict:
    """Return the Flask config mapping built from the environment."""
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'toolbox.db'}"
    return {
        # production = TOOLBOX_ENV=production or any database but SQLite: no development keys then.
        "TOOLBOX_ENV": os.environ.get("TOOLBOX_ENV", "development"),
        "SECRET_KEY": os.environ.get("SECRET_KEY", "dev-only-change-me"),
        "SQLALCHEMY_DATABASE_URI": _normalise_db_url(database_url),
        # No pre-ping per request: connections idle longer than DB_PING_IDLE_SECONDS are checked at
        # checkout and replaced when dead (app/extensions.py ping_idle_connections); pool_recycle
        # retires connections before a server or firewall timeout does.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_recycle": _int("DB_POOL_RECYCLE_SECONDS", 1800)},
        "DB_PING_IDLE_SECONDS": _int("DB_PING_IDLE_SECONDS", 30),
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        # Field encryption for personal data: FIELD_ENCRYPTION_KEYS newest first, comma-separated (one
        # FIELD_ENCRYPTION_KEY is still accepted); derived from SECRET_KEY only in the embedded default.
        "FIELD_ENCRYPTION_KEYS": os.environ.get("FIELD_ENCRYPTION_KEYS") or None,
        "FIELD_ENCRYPTION_KEY": os.environ.get("FIELD_ENCRYPTION_KEY") or None,
        "MAX_CONTENT_LENGTH": _int("MAX_UPLOAD_BYTES", 32 * 1024 * 1024),
        # Photos and media (issue 5): originals are private, stored by content hash under MEDIA_ROOT.
        "MEDIA_ROOT": os.environ.get("MEDIA_ROOT") or str(INSTANCE_DIR / "media"),
        "PHOTO_MAX_BYTES": _int("PHOTO_MAX_BYTES", 10 * 1024 * 1024),
        "PHOTO_MAX_PIXELS": _int("PHOTO_MAX_PIXELS", 50_000_000),
        "PHOTO_MAX_SIDE": _int("PHOTO_MAX_SIDE", 1600),
        "PHOTO_THUMB_SIDE": _int("PHOTO_THUMB_SIDE", 320),
        # Citizen reporting via the Jing'an code (静安码随手拍).
        "CITIZEN_PRIVACY_NOTICE_VERSION": os.environ.get("CITIZEN_PRIVACY_NOTICE_VERSION", "2026-01"),
        "CITIZEN_REOPEN_DAYS": _int("CITIZEN_REOPEN_DAYS", 7),
        "CITIZEN_DUPLICATE_WINDOW_HOURS": _int("CITIZEN_DUPLICATE_WINDOW_HOURS", 72),
        "CITIZEN_ANONYMISE_AFTER_MONTHS": _int("CITIZEN_ANONYMISE_AFTER_MONTHS", 6),
        "CITIZEN_RATE_LIMIT": os.environ.get("CITIZEN_RATE_LIMIT", "5/600"),  # reports per client per seconds
        "CJK_FONT_PATH": os.environ.get("CJK_FONT_PATH") or None,
        # API tokens: absolute lifetime and idle timeout (graded protection asks for both).
        "TOKEN_TTL_SECONDS": _int("TOKEN_TTL_SECONDS", 8 * 3600),
        "TOKEN_IDLE_SECONDS": _int("TOKEN_IDLE_SECONDS", 30 * 60),
        # Per-process caches (app/services/local_cache.py), invalidated through a version key in Redis;
        # 0 turns one off (the benchmark's before/after switch).
        "PRINCIPAL_CACHE_SECONDS": _int("PRINCIPAL_CACHE_SECONDS", 30),
        "TOOL_SETTINGS_CACHE_SECONDS": _int("TOOL_SETTINGS_CACHE_SECONDS", 60),
        # Jobs: retry delays in seconds; the number of entries is the number of retries.
        "JOB_RETRY_INTERVALS": [int(s) for s in os.environ.get("JOB_RETRY_INTERVALS", "10,60,300").split(",") if s],
        # A worker's heartbeat period: a job whose worker died is re-queued ~60 s after its last beat.
        "JOB_MONITORING_INTERVAL": _int("JOB_MONITORING_INTERVAL", 10),
        # The outbox sweeper relays a committed job still unsent after this many seconds.
        "OUTBOX_RELAY_GRACE": _int("OUTBOX_RELAY_GRACE", 10),
        # Other systems (issue 19): key rotation grace, webhook retries (exponential from BASE, capped, until
        # GIVE_UP seconds after the event), the HTTP timeout, how far in the future a reading may be.
        "INTEGRATION_KEY_GRACE_HOURS": _int("INTEGRATION_KEY_GRACE_HOURS", 24),
        "WEBHOOK_TIMEOUT_SECONDS": float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "10")),
        "WEBHOOK_RETRY_BASE_SECONDS": float(os.environ.get("WEBHOOK_RETRY_BASE_SECONDS", "30")),
        "WEBHOOK_RETRY_MAX_SECONDS": float(os.environ.get("WEBHOOK_RETRY_MAX_SECONDS", str(4 * 3600))),
        "WEBHOOK_GIVE_UP_SECONDS": float(os.environ.get("WEBHOOK_GIVE_UP_SECONDS", str(25 * 3600))),
        "READING_MAX_FUTURE_SECONDS": _int("READING_MAX_FUTURE_SECONDS", 300),
        "READING_RETENTION_MONTHS": _int("READING_RETENTION_MONTHS", 13),
        # Water-depth sensors at flood points: how long over the threshold before escalating, and how far
        # under it a reading must fall to end the episode (hysteresis, cm).
        "FLOOD_DUTY_SENSOR_SECONDS": _int("FLOOD_DUTY_SENSOR_SECONDS", 300),
        "FLOOD_DUTY_SENSOR_HYSTERESIS_CM": _int("FLOOD_DUTY_SENSOR_HYSTERESIS_CM", 3),
        "WECOM_CORP_ID": os.environ.get("WECOM_CORP_ID", "ww_jingan_demo"),
        "WECOM_AGENT_ID": os.environ.get("WECOM_AGENT_ID", "1000002"),
        "WECOM_SECRET": os.environ.get("WECOM_SECRET", "demo-secret"),
        "WECOM_TOKEN": os.environ.get("WECOM_TOKEN", "demotoken"),
        # 43 characters of base64, as WeCom issues EncodingAESKey.
        "WECOM_AES_KEY": os.environ.get("WECOM_AES_KEY", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"),
        "WECOM_API_BASE": os.environ.get("WECOM_API_BASE", "http://127.0.0.1:5001/cgi-bin/"),
        # WeCom's OAuth authorize page (the in-app browser's login); the simulator serves a stand-in.
        "WECOM_OAUTH_BASE": os.environ.get("WECOM_OAUTH_BASE") or _oauth_base(
            os.environ.get("WECOM_API_BASE", "http://127.0.0.1:5001/cgi-bin/")),
        "WECOM_TIMEOUT": float(os.environ.get("WECOM_TIMEOUT", "10")),
        # The role a person new to us gets at their WeCom main department's unit on directory sync.
        "WECOM_CALLBACK_REFUSAL_LIMIT": _int("WECOM_CALLBACK_REFUSAL_LIMIT", 60),
        "WECOM_SYNC_DEFAULT_ROLE": os.environ.get("WECOM_SYNC_DEFAULT_ROLE", "worker"),
        # Failed logins allowed per client IP per window before 429.
        "LOGIN_FAILURE_LIMIT": _int("LOGIN_FAILURE_LIMIT", 10),
        "LOGIN_FAILURE_WINDOW_SECONDS": _int("LOGIN_FAILURE_WINDOW_SECONDS", 300),
        # Assessment (issue 17): the longest period, the sample below which a unit is shown but not
        # ranked, the composite score's preset (three_rates = 三率 30/35/35), repeat complaints, exports.
        "ASSESSMENT_MAX_PERIOD_DAYS": _int("ASSESSMENT_MAX_PERIOD_DAYS", 366),
        "ASSESSMENT_MIN_SAMPLE": _int("ASSESSMENT_MIN_SAMPLE", 20),
        "ASSESSMENT_SCORE_PRESET": os.environ.get("ASSESSMENT_SCORE_PRESET", "three_rates"),
        "REPEAT_WINDOW_WORKING_DAYS": _int("REPEAT_WINDOW_WORKING_DAYS", 10),
        "REPEAT_DISTANCE_M": _int("REPEAT_DISTANCE_M", 50),
        "REPEAT_TEXT_SIMILARITY": float(os.environ.get("REPEAT_TEXT_SIMILARITY", "0.8")),
        "EXPORT_TTL_HOURS": _int("EXPORT_TTL_HOURS", 72),
        "EXPORT_SHEET_ROWS": _int("EXPORT_SHEET_ROWS", 1_048_575),  # data rows per sheet (Excel's limit)
        "TOOLBOX_DISABLED_TOOLS": [s for s in os.environ.get("TOOLBOX_DISABLED_TOOLS", "").split(",") if s],
    }
