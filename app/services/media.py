"""Private media storage addressed by content hash, under MEDIA_ROOT (instance/media by default).

Keys look like "originals/ab/ab12…ef.jpg": the same bytes always get the same key, so storing a
file twice costs nothing and a key never points at different content. Nothing here is served
directly; views decide what may be shown to whom.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from flask import current_app


def root() -> Path:
    return Path(current_app.config.get("MEDIA_ROOT") or Path(current_app.instance_path) / "media")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def key_for(area: str, digest: str, ext: str) -> str:
    return f"{area}/{digest[:2]}/{digest}.{ext.lstrip('.')}"


def path(key: str) -> Path:
    base = root().resolve()
    full = (base / key).resolve()
    if not str(full).startswith(str(base) + os.sep):
        raise ValueError(f"media key {key!r} escapes the media root")
    return full


def put(area: str, data: bytes, ext: str) -> tuple[str, str]:
    """Store data by its hash; return (key, sha256). Writes are atomic (temp file + rename)."""
    digest = sha256(data)
    key = key_for(area, digest, ext)
    target = path(key)
    if target.exists():
        return key, digest
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o640)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return key, digest


def put_file(key: str, data: bytes) -> str:
    """Store data under an explicit key (exports, which are not content addressed)."""
    target = path(key)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, target)
    return key


def read(key: str) -> bytes:
    return path(key).read_bytes()


def exists(key: str | None) -> bool:
    return bool(key) and path(key).exists()
