"""Encryption at rest and masking of personal data (mobile numbers, contacts).

Keys: FIELD_ENCRYPTION_KEYS, newest first (FIELD_ENCRYPTION_KEY, one key, is still accepted). New
values are encrypted with the newest key; every listed key decrypts, so a key can be rotated:
put the new key first, run `flask toolbox rotate-keys`, then drop the old one. Each key is a
passphrase turned into a Fernet key (AES-128-CBC + HMAC) by SHA-256, so existing data written with
FIELD_ENCRYPTION_KEY=x stays readable with FIELD_ENCRYPTION_KEYS=y,x. Only the embedded default
(SQLite, not TOOLBOX_ENV=production) derives a key from SECRET_KEY; anything else refuses to start
without keys of its own (check_production_settings).

A wrong key never breaks a page: a value that no key decrypts loads as UNREADABLE (an empty string
that refuses to be written back), one warning is logged, /healthz reports it (key_check) and the
app logs one clear line at start (log_key_check).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
from collections.abc import Iterable, Mapping

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
from sqlalchemy import Text, func, literal, select, type_coerce, update
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

DEV_SECRET_KEY = "dev-only-change-me"


class FieldKeyError(ValueError):
    """A value the configured FIELD_ENCRYPTION_KEYS cannot decrypt (wrong key, or tampered data)."""


class ConfigurationError(RuntimeError):
    """A setting that production must not run with; the message names the variable to set."""


class Unreadable(str):
    """What an undecryptable field loads as: empty to every reader, refused by every writer."""

    def __repr__(self) -> str:
        return "<unreadable encrypted value>"


UNREADABLE = Unreadable("")


# --- keys ----------------------------------------------------------------------------------------

def configured_keys(config: Mapping) -> tuple[str, ...]:
    """The field keys a config gives, newest first (a list, or a comma-separated string)."""
    keys = config.get("FIELD_ENCRYPTION_KEYS") or ()
    if isinstance(keys, str):
        keys = keys.split(",")
    keys = tuple(k.strip() for k in keys if k and k.strip())
    if not keys and config.get("FIELD_ENCRYPTION_KEY"):
        keys = (config["FIELD_ENCRYPTION_KEY"],)
    return keys


def is_production(config: Mapping) -> bool:
    """Outside the embedded default: TOOLBOX_ENV=production, or any database but SQLite."""
    return (str(config.get("TOOLBOX_ENV") or "").lower() == "production"
            or not str(config.get("SQLALCHEMY_DATABASE_URI") or "").startswith("sqlite"))


def check_production_settings(config: Mapping) -> None:
    """Refuse to start production with the development SECRET_KEY or without field keys of its own."""
    if not is_production(config):
        return
    secret = config.get("SECRET_KEY") or ""
    if not secret or secret == DEV_SECRET_KEY:
        raise ConfigurationError("SECRET_KEY is the development default: set SECRET_KEY to a long random value "
                                 "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)")
    keys = configured_keys(config)
    if not keys:
        raise ConfigurationError("no key for personal data: set FIELD_ENCRYPTION_KEYS (newest first, "
                                 "comma-separated) or FIELD_ENCRYPTION_KEY to a long random value of its own")
    if secret in keys:
        raise ConfigurationError("FIELD_ENCRYPTION_KEYS must not contain SECRET_KEY: give personal data a key of "
                                 "its own")


def _keys() -> tuple[str, ...]:
    return configured_keys(current_app.config) or (current_app.config["SECRET_KEY"],)


def _fernet_key(secret: str) -> bytes:
    return base64.urlsafe_b64encode(hashlib.sha256(("field-encryption:" + secret).encode()).digest())


@functools.lru_cache(maxsize=8)
def _ciphers(keys: tuple[str, ...]) -> tuple[MultiFernet, Fernet]:
    """Built once per process and key list: (all keys, newest first; the newest alone)."""
    fernets = [Fernet(_fernet_key(k)) for k in keys]
    return MultiFernet(fernets), fernets[0]


def _multi() -> MultiFernet:
    return _ciphers(_keys())[0]


def encrypt(plaintext: str) -> str:
    return _multi().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _multi().decrypt(token.encode()).decode()
    except InvalidToken as exc:  # wrong key or tampered value: never return ciphertext as data
        raise FieldKeyError("encrypted field cannot be decrypted with the configured FIELD_ENCRYPTION_KEYS") from exc


def blind_index(value: str) -> str:
    """A keyed hash for equality look-ups (abuse counting) without storing the value; newest key."""
    return hmac.new(_keys()[0].encode(), value.encode(), hashlib.sha256).hexdigest()


_warned = False


class EncryptedString(TypeDecorator):
    """A string stored Fernet-encrypted; plaintext only in memory."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if isinstance(value, Unreadable):
            raise FieldKeyError("refusing to store an undecryptable value: fix FIELD_ENCRYPTION_KEYS first")
        return None if value is None else encrypt(str(value))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        try:
            return decrypt(value)
        except FieldKeyError:
            global _warned
            if not _warned:
                _warned = True
                log.warning("personal data cannot be decrypted: FIELD_ENCRYPTION_KEYS does not hold the key it "
                            "was written with; such fields show empty (see /healthz)")
            return UNREADABLE


# --- checking the keys against the data -----------------------------------------------------------

def encrypted_columns(metadata) -> Iterable:
    for table in metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, EncryptedString):
                yield table, column


def key_check(session, metadata) -> tuple[str, list[str]]:
    """("ok" | "no personal data yet" | "wrong key", the columns whose newest value no key decrypts)."""
    multi = _multi()
    checked, wrong = 0, []
    for table, column in encrypted_columns(metadata):
        raw = type_coerce(column, Text)
        pk = list(table.primary_key.columns)[0]
        token = session.execute(select(raw).where(column.is_not(None)).order_by(pk.desc()).limit(1)).scalar()
        if token is None:
            continue
        checked += 1
        try:
            multi.decrypt(token.encode())
        except InvalidToken:
            wrong.append(f"{table.name}.{column.name}")
    if wrong:
        return "wrong key", wrong
    return ("ok" if checked else "no personal data yet"), []


def log_key_check(app) -> None:
    """At start: one clear log line when the keys do not decrypt the stored personal data."""
    from app.extensions import db

    with app.app_context():
        try:
            _status, wrong = key_check(db.session, db.metadata)
        except Exception as exc:  # noqa: BLE001 - no schema yet, or no database: nothing to check
            log.debug("field key check skipped: %s", exc)
            wrong = []
        finally:
            db.session.remove()
    if wrong:
        log.error("FIELD_ENCRYPTION_KEYS cannot decrypt the personal data in %s: set FIELD_ENCRYPTION_KEYS to the "
                  "key(s) it was written with (newest first); until then these fields show empty",
                  ", ".join(wrong))


# --- rotation ------------------------------------------------------------------------------------

def rotate_all(session, metadata, progress=None, batch_size: int = 500) -> dict:
    """Re-encrypt every personal field with the newest key; returns counts per column."""
    multi, newest = _ciphers(_keys())
    report = {"rotated": 0, "current": 0, "unreadable": 0, "columns": {}}
    columns = list(encrypted_columns(metadata))
    totals = {f"{t.name}.{c.name}": session.execute(select(func.count()).where(c.is_not(None))).scalar_one()
              for t, c in columns}
    done = 0
    for table, column in columns:
        name = f"{table.name}.{column.name}"
        pk = list(table.primary_key.columns)[0]
        counts = {"rotated": 0, "current": 0, "unreadable": 0}
        last = None
        while True:
            stmt = select(pk, type_coerce(column, Text)).where(column.is_not(None)).order_by(pk).limit(batch_size)
            if last is not None:
                stmt = stmt.where(pk > last)
            rows = session.execute(stmt).all()
            if not rows:
                break
            for key, token in rows:
                counts[_rotate_one(session, table, pk, column, key, token, multi, newest)] += 1
            session.commit()  # batch by batch: an interrupted run resumes where it left off
            last = rows[-1][0]
            done += len(rows)
            if progress:
                progress({"column": name, "done": done, "total": sum(totals.values())})
        report["columns"][name] = counts
        for k, v in counts.items():
            report[k] += v
    return report


def _rotate_one(session, table, pk, column, key, token, multi: MultiFernet, newest: Fernet) -> str:
    try:
        newest.decrypt(token.encode())
        return "current"
    except InvalidToken:
        pass
    try:
        fresh = multi.rotate(token.encode()).decode()
    except InvalidToken:
        return "unreadable"
    session.execute(update(table).where(pk == key).values({column.name: literal(fresh, Text())}))
    return "rotated"


# --- masking -------------------------------------------------------------------------------------

def mask_mobile(mobile: str | None) -> str | None:
    """138****5678 — keep the first three and last four digits."""
    if not mobile:
        return mobile
    digits = mobile.strip()
    if len(digits) < 8:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


def mask_name(name: str | None) -> str | None:
    """张*明 / 李* — keep the first character (and the last, for three or more)."""
    if not name:
        return name
    if len(name) <= 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
