"""The practical ceiling of this stack: /me, /toolbox and /users as a few lines of Flask and raw driver SQL.

Same JSON as the toolbox for the same user (benchmarks/api_bench.py checks it before measuring), the
same token checks (revoked, expired, idle, disabled), scope and paging rules, no ORM, no cache.
Configured by environment: DATABASE_URL (PostgreSQL via psycopg, or sqlite:///file), FIELD_ENCRYPTION_KEYS
(to decrypt mobiles), REFERENCE_TOOLS (a JSON file: the registry's tool dicts and roles, which are code).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sqlite3
from datetime import UTC, datetime, timedelta

from cryptography.fernet import Fernet, MultiFernet
from flask import Flask, abort, jsonify, request

URL = os.environ["DATABASE_URL"]
TOOLS = json.load(open(os.environ["REFERENCE_TOOLS"], encoding="utf-8"))
IDLE = timedelta(seconds=int(os.environ.get("TOKEN_IDLE_SECONDS", 1800)))
ADMIN_ROLES = {"admin", "security_admin", "audit_admin"}
CIPHER = MultiFernet([Fernet(base64.urlsafe_b64encode(hashlib.sha256(("field-encryption:" + k).encode()).digest()))
                      for k in os.environ["FIELD_ENCRYPTION_KEYS"].split(",")])
SQLITE = URL.startswith("sqlite")
app = Flask(__name__)
app.json.ensure_ascii = False


_connection = None


def connection():
    """One connection per worker process (a sync worker serves one request at a time), opened after the fork."""
    global _connection
    if _connection is None:
        if SQLITE:
            _connection = sqlite3.connect(URL.split("///", 1)[1], check_same_thread=False)
        else:
            import psycopg
            _connection = psycopg.connect(URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    return _connection


def rows(sql: str, *params):
    if SQLITE:
        sql = sql.replace("%s", "?")
    return connection().execute(sql, params).fetchall()


def moment(value):
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def masked(token):
    if not token:
        return token
    digits = CIPHER.decrypt(token.encode()).decode().strip()
    return "*" * len(digits) if len(digits) < 8 else f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


def principal():
    """The token's user and memberships, checked like the toolbox checks them: two statements."""
    raw = request.headers.get("Authorization", "").partition(" ")[2]
    found = rows("SELECT u.id, u.wecom_userid, u.name, u.mobile, u.position, u.active, t.revoked_at, t.expires_at, "
                 "t.last_seen_at FROM api_token t JOIN app_user u ON u.id = t.user_id WHERE t.token_hash = %s",
                 hashlib.sha256(raw.encode()).hexdigest())
    now = datetime.now(UTC)
    if not found or found[0][6] is not None or moment(found[0][7]) <= now or moment(found[0][8]) + IDLE <= now:
        abort(401)
    user = found[0]
    if not user[5]:
        abort(403)
    memberships = rows("SELECT m.role, o.id, o.code, o.name, o.level, o.path FROM membership m "
                       "JOIN org_unit o ON o.id = m.org_unit_id WHERE m.user_id = %s ORDER BY m.id", user[0])
    return user, memberships


def unit_dict(unit_id, code, name, level):
    return {"id": unit_id, "code": code, "name": name, "level": level}


def toolbox(memberships):
    settings: dict[str, dict[str, bool]] = {}
    for code, path, enabled in rows("SELECT s.tool_code, o.path, s.enabled FROM tool_setting s "
                                    "JOIN org_unit o ON o.id = s.org_unit_id"):
        settings.setdefault(code, {})[path] = bool(enabled)

    def enabled_at(code, path):
        best = max((p for p in settings.get(code, {}) if path.startswith(p)), key=len, default=None)
        return True if best is None else settings[code][best]

    return [tool for tool in TOOLS if any(role in tool["roles"] and enabled_at(tool["code"], path)
                                          for role, _, _, _, _, path in memberships)]


@app.get("/api/v1/me")
def me():
    user, memberships = principal()
    units = {m[1]: unit_dict(*m[1:5]) for m in memberships}
    return jsonify({
        "user": {"id": user[0], "userid": user[1], "name": user[2], "mobile": masked(user[3]), "position": user[4],
                 "active": bool(user[5]),
                 "memberships": [{"role": m[0], "org_unit": unit_dict(*m[1:5])} for m in memberships]},
        "units": list(units.values()), "roles": sorted({m[0] for m in memberships}), "toolbox": toolbox(memberships),
    })


@app.get("/api/v1/toolbox")
def my_toolbox():
    _, memberships = principal()
    return jsonify({"items": toolbox(memberships)})


def roots(paths):
    result = []
    for path in sorted(set(paths)):
        if not any(path.startswith(r) for r in result):
            result.append(path)
    return result


@app.get("/api/v1/users")
def users():
    _, memberships = principal()
    page, per_page = int(request.args.get("page", 1)), int(request.args.get("per_page", 20))
    visible = roots([m[5] for m in memberships if m[0] not in ADMIN_ROLES]) + \
        roots([m[5] for m in memberships if m[0] == "security_admin"])
    unit = rows("SELECT path FROM org_unit WHERE code = %s", request.args["unit"])
    if not unit:
        abort(404)
    if not any(unit[0][0].startswith(r) for r in visible):
        abort(403)
    like = " OR ".join(["o.path LIKE %s"] * len(visible))
    where = (f"FROM app_user u WHERE EXISTS (SELECT 1 FROM membership m JOIN org_unit o ON o.id = m.org_unit_id "
             f"WHERE m.user_id = u.id AND ({like}) AND o.path LIKE %s)")
    params = [r + "%" for r in visible] + [unit[0][0] + "%"]
    found = rows(f"SELECT u.id, u.wecom_userid, u.name, u.mobile, u.position, u.active {where} "
                 f"ORDER BY u.wecom_userid LIMIT {per_page} OFFSET {(page - 1) * per_page}", *params)
    total = (page - 1) * per_page + len(found) if len(found) < per_page and (found or page == 1) \
        else rows(f"SELECT count(*) {where}", *params)[0][0]
    held: dict[int, list] = {r[0]: [] for r in found}
    if held:
        marks = ", ".join(["%s"] * len(held))
        for user_id, role, *unit_row in rows(
                f"SELECT m.user_id, m.role, o.id, o.code, o.name, o.level FROM membership m JOIN org_unit o "
                f"ON o.id = m.org_unit_id WHERE m.user_id IN ({marks}) ORDER BY m.id", *held):
            held[user_id].append({"role": role, "org_unit": unit_dict(*unit_row)})
    items = [{"id": r[0], "userid": r[1], "name": r[2], "mobile": masked(r[3]), "position": r[4], "active": bool(r[5]),
              "memberships": held[r[0]]} for r in found]
    return jsonify({"items": items, "page": page, "per_page": per_page, "total": total,
                    "pages": (total + per_page - 1) // per_page})
