"""A local stand-in for WeCom's qyapi, for `make run` and the tests.

It serves under /cgi-bin/ the endpoints the project uses, with WeCom's JSON shapes and errcodes,
over a directory built from the same data as the seeded district (`app.services.district_data`),
and the stand-in OAuth authorize page. Helpers for people and tests live under /_sim/:

    POST /_sim/code {"userid"}                      → {"code"}: one-time login code, 5 minutes
    GET  /_sim/messages                             → message/send and update_template_card bodies
    POST /_sim/tap {"userid","task_id","event_key"} → posts an encrypted template_card_event to the
                                                      app's callback; returns the app's status
    POST /_sim/expire-token                         → the current token now answers 42001
    POST /_sim/jsapi-verify {"kind": "config"|"agentConfig", "url", "nonceStr", "timestamp", "signature"}
                                                    → {"errcode"}: 0, 40093 (bad signature) or 42012
                                                      (no valid ticket), as WeCom's client checks wx.config
    POST /_sim/expire-tickets                       → the JS-SDK tickets end; the next fetch gets new ones
    GET  /_sim/stats                                → call counts (gettoken, ...)
    PUT  /_sim/users/<userid>, DELETE /_sim/users/<userid>   → change the directory
    POST /_sim/reset                                → forget codes, tokens, messages, changes

Run it alone with `python -m app.wecom.simulator --port 5001`; it reads the same WECOM_* settings
as the app.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import requests
from flask import Flask, jsonify, redirect, render_template_string, request
from wechatpy.enterprise.crypto import WeChatCrypto
from werkzeug.serving import make_server

from app.services.district_data import demo_staff, units

CODE_TTL = 300
TOKEN_TTL = 7200
TICKET_TTL = 7200
RESPONSE_CODE_TTL = 72 * 3600


def _ok(**body):
    return jsonify({"errcode": 0, "errmsg": "ok", **body})


def _err(errcode: int, errmsg: str, **body):
    # WeCom answers errors with HTTP 200 and an errcode.
    return jsonify({"errcode": errcode, "errmsg": errmsg, **body})


def directory_from_district() -> tuple[dict[int, dict], dict[str, dict]]:
    """WeCom-shaped departments and members for the seeded Jing'an district."""
    by_code = {u.code: u for u in units()}
    departments = {}
    for u in units():
        parent = by_code[u.parent_code].wecom_department_id if u.parent_code else 0
        departments[u.wecom_department_id] = {"id": u.wecom_department_id, "name": u.name, "parentid": parent,
                                              "order": 100000 - u.sort_order}
    users = {}
    for s in demo_staff():
        dept = by_code[s.unit_code].wecom_department_id
        users[s.userid] = {"userid": s.userid, "name": s.name, "department": [dept], "main_department": dept,
                           "position": s.position, "mobile": s.mobile, "status": 1, "enable": 1}
    return departments, users


@dataclass
class _Code:
    userid: str
    expires_at: float
    used: bool = False


@dataclass
class SimState:
    departments: dict[int, dict] = field(default_factory=dict)
    users: dict[str, dict] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)  # token → expiry
    codes: dict[str, _Code] = field(default_factory=dict)
    messages: list[dict] = field(default_factory=list)
    cards: dict[str, dict] = field(default_factory=dict)  # task_id → {"userids", "card"}
    response_codes: dict[str, dict] = field(default_factory=dict)  # code → {"expires_at", "used", "task_id"}
    media: dict[str, dict] = field(default_factory=dict)
    tickets: dict[str, dict] = field(default_factory=dict)  # "config"/"agentConfig" → {"ticket", "expires_at"}
    calls: dict[str, int] = field(default_factory=dict)

    @classmethod
    def fresh(cls) -> SimState:
        departments, users = directory_from_district()
        return cls(departments=departments, users=users)


def create_simulator(*, corp_id: str, secret: str, agent_id: str | int, token: str, aes_key: str,
                     callback_url: str | None = None) -> Flask:
    """The simulator as a WSGI app; configure it with the app's WECOM_* values."""
    sim = Flask("wecom_simulator")
    sim.json.ensure_ascii = False
    sim.config.update(CORP_ID=corp_id, SECRET=secret, AGENT_ID=int(agent_id), TOKEN=token, AES_KEY=aes_key,
                      CALLBACK_URL=callback_url)
    lock = threading.RLock()
    state = SimState.fresh()
    sim.extensions["wecom_sim_state"] = state

    def count(name: str) -> None:
        state.calls[name] = state.calls.get(name, 0) + 1

    def check_token():
        """None if the access_token is valid, else WeCom's error response."""
        token = request.args.get("access_token")
        if not token:
            return _err(41001, "access_token missing")
        expires = state.tokens.get(token)
        if expires is None:
            return _err(40014, "invalid access_token")
        if expires <= time.time():
            return _err(42001, "access_token expired")
        return None

    def agent_message_body():
        """(body, None) for a JSON message request of our agent; (None, WeCom's error response) otherwise."""
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            return None, _err(47001, "data format error")
        if body.get("agentid") != sim.config["AGENT_ID"]:
            return None, _err(40056, "invalid agentid")
        return body, None

    def take_code(code: str | None):
        """(userid, None) for a valid code, consuming it; (None, error response) otherwise."""
        entry = state.codes.get(code or "")
        if entry is None:
            return None, _err(40029, "invalid code")
        if entry.used:
            return None, _err(40163, "code has been used")
        if entry.expires_at <= time.time():
            return None, _err(40029, "invalid code: expired")
        entry.used = True
        return entry.userid, None

    # --- qyapi ----------------------------------------------------------------------------------

    @sim.get("/cgi-bin/gettoken")
    def gettoken():
        with lock:
            count("gettoken")
            if request.args.get("corpid") != sim.config["CORP_ID"]:
                return _err(40013, "invalid corpid")
            if not hmac.compare_digest(request.args.get("corpsecret", ""), sim.config["SECRET"]):
                return _err(40001, "invalid credential: corpsecret")
            token = secrets.token_urlsafe(24)
            state.tokens[token] = time.time() + TOKEN_TTL
            return _ok(access_token=token, expires_in=TOKEN_TTL)

    @sim.get("/cgi-bin/miniprogram/jscode2session")
    def jscode2session():
        with lock:
            count("jscode2session")
            if (bad := check_token()) is not None:
                return bad
            if request.args.get("grant_type") != "authorization_code":
                return _err(40002, "invalid grant_type")
            userid, bad = take_code(request.args.get("js_code"))
            if bad is not None:
                return bad
            if userid not in state.users:
                return _err(60111, f"userid not found: {userid}")
            return _ok(corpid=sim.config["CORP_ID"], userid=userid, session_key=secrets.token_urlsafe(16))

    @sim.get("/cgi-bin/auth/getuserinfo")
    def getuserinfo():
        with lock:
            count("getuserinfo")
            if (bad := check_token()) is not None:
                return bad
            userid, bad = take_code(request.args.get("code"))
            if bad is not None:
                return bad
            if userid not in state.users:  # a visitor who is not a member of the corp
                return _ok(openid="o" + secrets.token_hex(12))
            return _ok(userid=userid, user_ticket=secrets.token_urlsafe(16), expires_in=1800)

    @sim.get("/cgi-bin/user/get")
    def user_get():
        with lock:
            count("user/get")
            if (bad := check_token()) is not None:
                return bad
            user = state.users.get(request.args.get("userid", ""))
            if user is None:
                return _err(60111, "userid not found")
            return _ok(**copy.deepcopy(user))

    def subtree(dept_id: int) -> set[int]:
        ids, frontier = {dept_id}, [dept_id]
        while frontier:
            parent = frontier.pop()
            for d in state.departments.values():
                if d["parentid"] == parent and d["id"] not in ids:
                    ids.add(d["id"])
                    frontier.append(d["id"])
        return ids

    @sim.get("/cgi-bin/department/list")
    def department_list():
        with lock:
            count("department/list")
            if (bad := check_token()) is not None:
                return bad
            dept_id = request.args.get("id", type=int)
            if dept_id is None:
                return _ok(department=sorted(state.departments.values(), key=lambda d: d["id"]))
            if dept_id not in state.departments:
                return _err(60123, "invalid party id")
            ids = subtree(dept_id)
            return _ok(department=[d for i, d in sorted(state.departments.items()) if i in ids])

    @sim.get("/cgi-bin/user/list")
    def user_list():
        with lock:
            count("user/list")
            if (bad := check_token()) is not None:
                return bad
            dept_id = request.args.get("department_id", type=int)
            if dept_id not in state.departments:
                return _err(60123, "invalid party id")
            ids = subtree(dept_id) if request.args.get("fetch_child") == "1" else {dept_id}
            members = [copy.deepcopy(u) for u in state.users.values() if set(u["department"]) & ids]
            return _ok(userlist=sorted(members, key=lambda u: u["userid"]))

    @sim.post("/cgi-bin/message/send")
    def message_send():
        with lock:
            count("message/send")
            if (bad := check_token()) is not None:
                return bad
            body, bad = agent_message_body()
            if bad is not None:
                return bad
            touser = [u for u in str(body.get("touser", "")).split("|") if u]
            if not touser:
                return _err(40031, "invalid user list: touser is empty")
            if len(touser) > 1000:
                return _err(40031, "invalid user list: more than 1000 users")
            msgtype = body.get("msgtype")
            if msgtype not in ("text", "template_card", "markdown", "textcard", "news", "image", "file"):
                return _err(40008, "invalid message type")
            if msgtype == "textcard":
                card = body.get("textcard") or {}
                if not card.get("title") or not card.get("description") or not card.get("url"):
                    return _err(40058, "invalid parameter: textcard needs title, description and url")
                if len(card["title"].encode()) > 128 or len(card["description"].encode()) > 512:
                    return _err(40058, "invalid parameter: textcard title or description too long")
            invalid = [u for u in touser if u not in state.users]
            state.messages.append(body)
            result = {"invaliduser": "|".join(invalid), "invalidparty": "", "invalidtag": "",
                      "unlicenseduser": "", "msgid": secrets.token_hex(16)}
            if msgtype == "template_card":
                card = body.get("template_card") or {}
                task_id = card.get("task_id")
                if card.get("card_type") in ("button_interaction", "vote_interaction", "multiple_interaction"):
                    if not task_id:
                        return _err(40058, "invalid parameter: template_card.task_id is required")
                    if task_id in state.cards:
                        return _err(40058, "invalid parameter: task_id already used")
                if task_id:
                    state.cards[task_id] = {"userids": [u for u in touser if u not in invalid], "card": card}
                result["response_code"] = _new_response_code(task_id)
            return _ok(**result)

    def _new_response_code(task_id: str | None) -> str:
        code = secrets.token_urlsafe(24)
        state.response_codes[code] = {"expires_at": time.time() + RESPONSE_CODE_TTL, "used": False,
                                      "task_id": task_id}
        return code

    @sim.post("/cgi-bin/message/update_template_card")
    def update_template_card():
        with lock:
            count("message/update_template_card")
            if (bad := check_token()) is not None:
                return bad
            body, bad = agent_message_body()
            if bad is not None:
                return bad
            entry = state.response_codes.get(body.get("response_code", ""))
            if entry is None or entry["expires_at"] <= time.time():
                return _err(40058, "invalid parameter: response_code invalid or expired")
            if entry["used"]:
                return _err(40058, "invalid parameter: response_code has been used")
            if "button" not in body and "template_card" not in body:
                return _err(40058, "invalid parameter: button or template_card is required")
            entry["used"] = True
            state.messages.append(body)
            invalid = [u for u in body.get("userids", []) if u not in state.users]
            return _ok(invaliduser=invalid)

    def current_ticket(kind: str) -> dict | None:
        entry = state.tickets.get(kind)
        return entry if entry is not None and entry["expires_at"] > time.time() else None

    def issue_ticket(kind: str):
        """Within its lifetime WeCom answers the same ticket; after it, a new one."""
        entry = current_ticket(kind)
        if entry is None:
            entry = state.tickets[kind] = {"ticket": secrets.token_urlsafe(48), "expires_at": time.time() + TICKET_TTL}
        return _ok(ticket=entry["ticket"], expires_in=int(entry["expires_at"] - time.time()))

    @sim.get("/cgi-bin/get_jsapi_ticket")
    def get_jsapi_ticket():
        """The corp's jsapi_ticket, for wx.config."""
        with lock:
            count("get_jsapi_ticket")
            if (bad := check_token()) is not None:
                return bad
            return issue_ticket("config")

    @sim.get("/cgi-bin/ticket/get")
    def ticket_get():
        """The app's ticket for wx.agentConfig (type=agent_config)."""
        with lock:
            count("ticket/get")
            if (bad := check_token()) is not None:
                return bad
            if request.args.get("type") != "agent_config":
                return _err(40058, "invalid parameter: type must be agent_config")
            return issue_ticket("agentConfig")

    @sim.post("/cgi-bin/media/upload")
    def media_upload():
        with lock:
            count("media/upload")
            if (bad := check_token()) is not None:
                return bad
            media_type = request.args.get("type")
            if media_type not in ("image", "voice", "video", "file"):
                return _err(40004, "invalid media type")
            upload = request.files.get("media")
            if upload is None:
                return _err(41006, "media_id missing: no media file")
            data = upload.read()
            if len(data) < 5:
                return _err(40006, "invalid file size")
            media_id = secrets.token_urlsafe(32)
            state.media[media_id] = {"type": media_type, "filename": upload.filename, "size": len(data)}
            return _ok(type=media_type, media_id=media_id, created_at=str(int(time.time())))

    # --- OAuth stand-in -------------------------------------------------------------------------

    @sim.get("/connect/oauth2/authorize")
    def authorize():
        """WeCom's authorize page: pick a person (or pass ?userid=) and go back with a code."""
        if request.args.get("appid") != sim.config["CORP_ID"]:
            return "appid 参数错误 (invalid appid)", 400
        redirect_uri = request.args.get("redirect_uri", "")
        if urlsplit(redirect_uri).scheme not in ("http", "https"):
            return "redirect_uri 参数错误 (invalid redirect_uri)", 400
        userid = request.args.get("userid")
        if not userid:
            with lock:
                people = sorted(state.users.values(), key=lambda u: u["userid"])
            return render_template_string(_AUTHORIZE_PAGE, people=people, args=request.args)
        code = _issue_code(userid)
        query = {"code": code}
        if request.args.get("state"):
            query["state"] = request.args["state"]
        sep = "&" if "?" in redirect_uri else "?"
        return redirect(f"{redirect_uri}{sep}{urlencode(query)}", code=302)

    def _issue_code(userid: str, ttl: float = CODE_TTL) -> str:
        with lock:
            code = secrets.token_urlsafe(24)
            state.codes[code] = _Code(userid, time.time() + ttl)
            return code

    # --- /_sim helpers --------------------------------------------------------------------------

    @sim.post("/_sim/code")
    def sim_code():
        body = request.get_json(silent=True) or {}
        userid = body.get("userid")
        if not isinstance(userid, str) or not userid:
            return jsonify({"error": "userid is required"}), 400
        ttl = body.get("expires_in", CODE_TTL)  # tests may ask for an already expired code (0)
        if not isinstance(ttl, int | float) or not 0 <= ttl <= CODE_TTL:
            return jsonify({"error": f"expires_in must be 0..{CODE_TTL}"}), 400
        return jsonify({"code": _issue_code(userid, ttl), "expires_in": ttl})

    @sim.get("/_sim/messages")
    def sim_messages():
        with lock:
            return jsonify({"messages": copy.deepcopy(state.messages)})

    @sim.get("/_sim/stats")
    def sim_stats():
        with lock:
            return jsonify({"calls": dict(state.calls), "valid_tokens": sum(
                1 for exp in state.tokens.values() if exp > time.time())})

    @sim.post("/_sim/jsapi-verify")
    def sim_jsapi_verify():
        """What WeCom's client does with wx.config / wx.agentConfig: recompute the signature (written here
        from WeCom's documentation, independently of the app's own signing)."""
        body = request.get_json(silent=True) or {}
        kind = body.get("kind")
        if kind not in ("config", "agentConfig"):
            return jsonify({"error": "kind must be config or agentConfig"}), 400
        with lock:
            entry = current_ticket(kind)
        if entry is None:
            return jsonify({"errcode": 42012, "errmsg": "ticket no available"})
        plain = (f"jsapi_ticket={entry['ticket']}&noncestr={body.get('nonceStr', '')}"
                 f"&timestamp={body.get('timestamp', '')}&url={body.get('url', '')}")
        expected = hashlib.sha1(plain.encode()).hexdigest()
        if not hmac.compare_digest(expected, str(body.get("signature", ""))):
            return jsonify({"errcode": 40093, "errmsg": "invalid signature"})
        return jsonify({"errcode": 0, "errmsg": "ok"})

    @sim.post("/_sim/expire-tickets")
    def sim_expire_tickets():
        with lock:
            for entry in state.tickets.values():
                entry["expires_at"] = time.time() - 1
            return jsonify({"expired": len(state.tickets)})

    @sim.post("/_sim/expire-token")
    def sim_expire_token():
        with lock:
            now = time.time()
            expired = [t for t, exp in state.tokens.items() if exp > now]
            for t in expired:
                state.tokens[t] = now - 1
            return jsonify({"expired": len(expired)})

    @sim.post("/_sim/reset")
    def sim_reset():
        with lock:
            fresh = SimState.fresh()
            for name in fresh.__dataclass_fields__:
                setattr(state, name, getattr(fresh, name))
            if "callback_url" in (request.get_json(silent=True) or {}):
                sim.config["CALLBACK_URL"] = request.get_json()["callback_url"]
            return jsonify({"ok": True})

    @sim.put("/_sim/users/<userid>")
    def sim_put_user(userid: str):
        body = request.get_json(silent=True) or {}
        with lock:
            user = state.users.get(userid) or {"userid": userid, "name": userid, "department": [1],
                                                "position": "", "mobile": "", "status": 1, "enable": 1}
            user.update({k: v for k, v in body.items() if k != "userid"})
            user.setdefault("main_department", user["department"][0])
            state.users[userid] = user
            return jsonify(user)

    @sim.delete("/_sim/users/<userid>")
    def sim_delete_user(userid: str):
        with lock:
            return jsonify({"deleted": state.users.pop(userid, None) is not None})

    @sim.post("/_sim/tap")
    def sim_tap():
        """A person taps a button on a template card: WeCom posts the encrypted event to the app."""
        body = request.get_json(silent=True) or {}
        userid, task_id, event_key = body.get("userid"), body.get("task_id"), body.get("event_key")
        if not all(isinstance(v, str) and v for v in (userid, task_id, event_key)):
            return jsonify({"error": "userid, task_id and event_key are required"}), 400
        callback_url = body.get("callback_url") or sim.config["CALLBACK_URL"]
        if not callback_url:
            return jsonify({"error": "the simulator has no callback URL configured"}), 409
        with lock:
            sent = state.cards.get(task_id)
            if sent is None or userid not in sent["userids"]:
                return jsonify({"error": f"no card with task_id {task_id!r} was sent to {userid!r}"}), 404
            keys = _button_keys(sent["card"])
            if keys and event_key not in keys:
                return jsonify({"error": f"the card has no button {event_key!r}", "keys": sorted(keys)}), 404
            card_type = sent["card"].get("card_type", "button_interaction")
            response_code = _new_response_code(task_id)
        xml = _event_xml(to_user=sim.config["CORP_ID"], from_user=userid, agent_id=sim.config["AGENT_ID"],
                         event_key=event_key, task_id=task_id, card_type=card_type, response_code=response_code)
        try:
            status, text = post_encrypted(callback_url, xml, token=sim.config["TOKEN"],
                                          aes_key=sim.config["AES_KEY"], corp_id=sim.config["CORP_ID"],
                                          agent_id=sim.config["AGENT_ID"])
        except requests.RequestException as exc:
            return jsonify({"error": f"the app's callback {callback_url} is unreachable: {exc}"}), 502
        return jsonify({"status": status, "body": text, "response_code": response_code})

    return sim


def _button_keys(card: dict) -> set[str]:
    keys = {b.get("key") for b in card.get("button_list", []) if b.get("key")}
    if card.get("checkbox"):
        keys.add(card.get("submit_button", {}).get("key"))
    for sel in card.get("select_list", []):
        keys.add(card.get("submit_button", {}).get("key"))
        keys.add(sel.get("question_key"))
    keys.discard(None)
    return keys


def _event_xml(*, to_user: str, from_user: str, agent_id: int, event_key: str, task_id: str, card_type: str,
               response_code: str) -> str:
    def cdata(value: str) -> str:
        return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"

    return ("<xml>"
            f"<ToUserName>{cdata(to_user)}</ToUserName>"
            f"<FromUserName>{cdata(from_user)}</FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime>"
            f"<MsgType>{cdata('event')}</MsgType>"
            f"<Event>{cdata('template_card_event')}</Event>"
            f"<EventKey>{cdata(event_key)}</EventKey>"
            f"<TaskId>{cdata(task_id)}</TaskId>"
            f"<CardType>{cdata(card_type)}</CardType>"
            f"<ResponseCode>{cdata(response_code)}</ResponseCode>"
            f"<AgentID>{agent_id}</AgentID>"
            "</xml>")


def post_encrypted(url: str, xml: str, *, token: str, aes_key: str, corp_id: str, agent_id: int,
                   nonce: str | None = None, timestamp: int | None = None) -> tuple[int, str]:
    """POST xml to a callback URL encrypted and signed as WeCom does; return (status, body)."""
    nonce = nonce or secrets.token_hex(8)
    timestamp = str(timestamp or int(time.time()))
    envelope = encrypt_envelope(xml, token=token, aes_key=aes_key, corp_id=corp_id, nonce=nonce, timestamp=timestamp)
    body = (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><AgentID><![CDATA[{agent_id}]]></AgentID>"
            f"<Encrypt><![CDATA[{envelope['encrypt']}]]></Encrypt></xml>")
    query = {"msg_signature": envelope["signature"], "timestamp": timestamp, "nonce": nonce}
    sep = "&" if "?" in url else "?"
    res = requests.post(f"{url}{sep}{urlencode(query)}", data=body.encode(),
                        headers={"Content-Type": "text/xml"}, timeout=10)
    return res.status_code, res.text


def encrypt_envelope(xml: str, *, token: str, aes_key: str, corp_id: str, nonce: str, timestamp: str) -> dict:
    """WeCom's encryption of a callback body: {"encrypt", "signature"} (via wechatpy's WeChatCrypto)."""
    import xmltodict

    wrapped = WeChatCrypto(token, aes_key, corp_id).encrypt_message(xml, nonce, timestamp)
    parsed = xmltodict.parse(wrapped)["xml"]
    return {"encrypt": parsed["Encrypt"], "signature": parsed["MsgSignature"]}


_AUTHORIZE_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>企业微信授权（模拟）</title></head>
<body><h1>企业微信授权（本地模拟）</h1><p>选择以哪位成员的身份登录：</p>
<form method="get" action="">
{% for k, v in args.items() %}<input type="hidden" name="{{ k }}" value="{{ v }}">{% endfor %}
<select name="userid">{% for p in people %}<option value="{{ p.userid }}">{{ p.userid }} {{ p.name }}</option>
{% endfor %}</select> <button type="submit">授权登录</button></form></body></html>"""


class SimulatorServer:
    """The simulator served over HTTP on a loopback port, in a background thread."""

    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 0):
        self.app = app
        self._server = make_server(host, port, app, threaded=True)
        self.host, self.port = host, self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="wecom-simulator", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def state(self) -> SimState:
        return self.app.extensions["wecom_sim_state"]

    def start(self) -> SimulatorServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def simulator_from_config(config, callback_url: str | None = None) -> Flask:
    """A simulator taking the same WECOM_* values as the app (a Flask config or from_environment())."""
    return create_simulator(corp_id=config["WECOM_CORP_ID"], secret=config["WECOM_SECRET"],
                            agent_id=config["WECOM_AGENT_ID"], token=config["WECOM_TOKEN"],
                            aes_key=config["WECOM_AES_KEY"], callback_url=callback_url)


def main() -> None:
    from app.config import from_environment

    parser = argparse.ArgumentParser(description="Run the local WeCom simulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--callback-url", default="http://127.0.0.1:5000/wecom/callback")
    args = parser.parse_args()
    server = SimulatorServer(simulator_from_config(from_environment(), args.callback_url), args.host, args.port)
    print(f"WeCom simulator on {server.url}")  # noqa: T201
    server._server.serve_forever()


if __name__ == "__main__":
    main()


class SimulatorClient:
    """Drives a running simulator over HTTP (the `wecom_sim` test fixture is one of these)."""

    def __init__(self, url: str, callback_url: str | None = None):
        self.url = url.rstrip("/")
        self.callback_url = callback_url

    @property
    def api_base(self) -> str:
        return f"{self.url}/cgi-bin/"

    def _json(self, method: str, path: str, **kwargs):
        res = requests.request(method, f"{self.url}{path}", timeout=15, **kwargs)
        res.raise_for_status()
        return res.json()

    def code(self, userid: str, expires_in: int | None = None) -> str:
        """A one-time login code for userid (jscode2session or auth/getuserinfo)."""
        body = {"userid": userid} if expires_in is None else {"userid": userid, "expires_in": expires_in}
        return self._json("POST", "/_sim/code", json=body)["code"]

    def messages(self) -> list[dict]:
        """Bodies of message/send and update_template_card so far, newest last."""
        return self._json("GET", "/_sim/messages")["messages"]

    def tap(self, userid: str, task_id: str, event_key: str) -> int:
        """userid taps event_key on the card task_id; return the app's HTTP status for the callback."""
        return self.tap_result(userid, task_id, event_key)["status"]

    def tap_result(self, userid: str, task_id: str, event_key: str) -> dict:
        res = requests.post(f"{self.url}/_sim/tap", json={"userid": userid, "task_id": task_id,
                                                          "event_key": event_key}, timeout=15)
        if res.status_code != 200:
            raise AssertionError(f"simulator refused the tap: {res.status_code} {res.text}")
        return res.json()

    def jsapi_verify(self, kind: str, signed: dict, url: str) -> int:
        """WeCom's check of one signature (signed: a `config` or `agentConfig` answer); 0 when valid."""
        return self._json("POST", "/_sim/jsapi-verify", json={"kind": kind, "url": url, **signed})["errcode"]

    def expire_tickets(self) -> int:
        return self._json("POST", "/_sim/expire-tickets")["expired"]

    def expire_token(self) -> int:
        return self._json("POST", "/_sim/expire-token")["expired"]

    def stats(self) -> dict:
        return self._json("GET", "/_sim/stats")["calls"]

    def put_user(self, userid: str, **fields) -> dict:
        return self._json("PUT", f"/_sim/users/{userid}", json=fields)

    def delete_user(self, userid: str) -> bool:
        return self._json("DELETE", f"/_sim/users/{userid}")["deleted"]

    def reset(self) -> None:
        body = {"callback_url": self.callback_url} if self.callback_url else {}
        self._json("POST", "/_sim/reset", json=body)
