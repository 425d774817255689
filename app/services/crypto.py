"""Encryption at rest and masking of personal data (mobile numbers, contacts)."""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator


def _fernet() -> Fernet:
    secret = current_app.config.get("FIELD_ENCRYPTION_KEY") or current_app.config["SECRET_KEY"]
    key = base64.urlsafe_b64encode(hashlib.sha256(("field-encryption:" + secret).encode()).digest())
    return Fernet(key)


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:  # wrong key or tampered value: never return ciphertext as data
        raise ValueError("encrypted field cannot be decrypted with the configured key") from exc


def blind_index(value: str) -> str:
    """A keyed hash for equality look-ups on an encrypted column without decrypting it."""
    secret = (current_app.config.get("FIELD_ENCRYPTION_KEY") or current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()


class EncryptedString(TypeDecorator):
    """A string stored Fernet-encrypted (AES-128-CBC + HMAC); plaintext only in memory."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else encrypt(str(value))

    def process_result_value(self, value, dialect):
        return None if value is None else decrypt(value)


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
