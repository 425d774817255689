"""The one way the project talks to WeCom: wechatpy's enterprise client, with its gaps closed.

    from app.wecom.client import get_client, WeComError
    get_client().send_text(["ja01g01-worker"], "你好")

What this adds to wechatpy 1.8:
- the token fetch honours WECOM_API_BASE (wechatpy hard-codes qyapi.weixin.qq.com for gettoken);
- wechatpy's unbounded retry on token errors is off; a call that meets 40001/40014/42001 fetches
  a fresh token and is retried exactly once;
- the access token is cached where every process sees it (Redis when configured);
- endpoints wechatpy does not wrap (auth/getuserinfo, miniprogram/jscode2session, template cards,
  update_template_card) go through its generic client.get/client.post;
- every failure is a WeComError carrying WeCom's errcode and errmsg (and is logged).
"""

from __future__ import annotations

import logging
import threading
import time

import requests
from flask import current_app
from wechatpy.enterprise import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.memorystorage import MemoryStorage
from wechatpy.session.redisstorage import RedisStorage

from app.services.redis_conn import get_redis

log = logging.getLogger(__name__)

TOKEN_ERRORS = frozenset({40001, 40014, 42001})  # invalid secret/credential, invalid token, expired token
INVALID_CODE = 40029
CODE_USED = 40163
USER_NOT_FOUND = 60111
MAX_RECIPIENTS = 1000  # WeCom accepts at most 1000 userids per message/send or update_template_card
# Keep a cached token for less than WeCom's expires_in, so it is never used in its last minutes.
TOKEN_SAFETY_MARGIN = 300

_memory_tokens = MemoryStorage()  # embedded mode: one process, one cache


class WeComError(Exception):
    """A WeCom call failed: errcode/errmsg are WeCom's (errcode None for a transport failure)."""

    def __init__(self, errcode: int | None, errmsg: str, endpoint: str = ""):
        self.errcode = errcode
        self.errmsg = errmsg
        self.endpoint = endpoint
        super().__init__(f"WeCom {endpoint or 'call'} failed: errcode={errcode} errmsg={errmsg}")

    def to_detail(self) -> dict:
        """For audit rows and logs."""
        return {"wecom_endpoint": self.endpoint, "wecom_errcode": self.errcode, "wecom_errmsg": self.errmsg}


class _WeChatClient(WeChatClient):
    """wechatpy's enterprise client pointed at api_base for every call, the token fetch included."""

    def __init__(self, corp_id: str, secret: str, api_base: str, session, timeout: float):
        super().__init__(corp_id, secret, session=session, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = api_base  # instance attribute: used by client.get/post and every API wrapper

    def fetch_access_token(self):
        res = self._http.get(f"{self.API_BASE_URL}gettoken", params={"corpid": self.corp_id,
                                                                     "corpsecret": self.secret},
                             timeout=self.timeout)
        try:
            res.raise_for_status()
            result = res.json()
        except (requests.RequestException, ValueError) as exc:
            raise WeChatClientException(None, f"gettoken: {exc}", client=self, request=res.request,
                                        response=res) from exc
        if result.get("errcode", 0) != 0:
            raise WeChatClientException(result["errcode"], result.get("errmsg", ""), client=self,
                                        request=res.request, response=res)
        expires_in = int(result.get("expires_in", 7200))
        self.session.set(self.access_token_key, result["access_token"],
                         max(expires_in - TOKEN_SAFETY_MARGIN, 60))
        # Leave expires_at unset: the shared cache's TTL decides when the token is stale, so a
        # process that did not fetch it (expires_at None in wechatpy's terms) uses it the same way.
        return result


class WeComClient:
    """The project's WeCom client; `get_client()` returns the one for the current app."""

    def __init__(self, *, corp_id: str, secret: str, agent_id: str, api_base: str, session=None,
                 timeout: float = 10.0):
        if not api_base.endswith("/"):
            api_base += "/"
        self.agent_id = int(agent_id)
        self.corp_id = corp_id
        self.api_base = api_base
        self._wx = _WeChatClient(corp_id, secret, api_base, session or _memory_tokens, timeout)
        self._lock = threading.Lock()

    @property
    def wechatpy(self) -> WeChatClient:
        return self._wx

    # --- the call path: one retry with a fresh token, errors as WeComError ---------------------

    def _token(self) -> str:
        try:
            return self._wx.access_token
        except WeChatClientException as exc:
            raise self._error("gettoken", exc) from exc
        except requests.RequestException as exc:
            raise WeComError(None, f"{type(exc).__name__}: {exc}", "gettoken") from exc

    def _error(self, endpoint: str, exc: WeChatClientException) -> WeComError:
        errcode = exc.errcode
        errmsg = exc.errmsg
        if errcode is None and getattr(exc, "response", None) is not None:
            errmsg = f"HTTP {exc.response.status_code}"
        err = WeComError(errcode, str(errmsg or ""), endpoint)
        log.warning("WeCom %s failed: errcode=%s errmsg=%s", endpoint, err.errcode, err.errmsg)
        return err

    def call(self, method: str, endpoint: str, *, params: dict | None = None, data=None, files=None) -> dict:
        """GET/POST endpoint (relative to WECOM_API_BASE) with the access token; return WeCom's JSON."""
        for attempt in (1, 2):
            token = self._token()
            kwargs: dict = {"params": {**(params or {}), "access_token": token}}
            if data is not None:
                kwargs["data"] = data
            if files is not None:
                kwargs["files"] = files
            try:
                return getattr(self._wx, method)(endpoint, **kwargs)
            except WeChatClientException as exc:
                if exc.errcode in TOKEN_ERRORS and attempt == 1:
                    log.info("WeCom %s: token rejected (errcode %s), fetching a fresh one and retrying once",
                             endpoint, exc.errcode)
                    self._forget_token(token)
                    continue
                raise self._error(endpoint, exc) from exc
            except requests.RequestException as exc:
                log.warning("WeCom %s unreachable: %s", endpoint, exc)
                raise WeComError(None, f"{type(exc).__name__}: {exc}", endpoint) from exc
        raise AssertionError("unreachable")

    def _forget_token(self, rejected: str) -> None:
        """Drop the cached token, unless another process has already replaced it."""
        with self._lock:
            key = self._wx.access_token_key
            if self._wx.session.get(key) == rejected:
                self._wx.session.delete(key)

    def get(self, endpoint: str, **params) -> dict:
        return self.call("get", endpoint, params=params)

    def post(self, endpoint: str, data: dict, **params) -> dict:
        return self.call("post", endpoint, params=params, data=data)

    # --- login ----------------------------------------------------------------------------------

    def code2session(self, code: str) -> dict:
        """Mini-app login code (wx.qy.login) → {"corpid", "userid", "session_key"}."""
        return self.get("miniprogram/jscode2session", js_code=code, grant_type="authorization_code")

    def get_user_info(self, code: str) -> dict:
        """OAuth code from the in-app browser → {"userid"} (or {"openid"} for a non-member)."""
        return self.get("auth/getuserinfo", code=code)

    # --- directory ------------------------------------------------------------------------------

    def get_user(self, userid: str) -> dict:
        return self.get("user/get", userid=userid)

    def list_departments(self, department_id: int | None = None) -> list[dict]:
        params = {} if department_id is None else {"id": department_id}
        return self.get("department/list", **params)["department"]

    def list_users(self, department_id: int = 1, fetch_child: bool = True) -> list[dict]:
        return self.get("user/list", department_id=department_id, fetch_child=int(fetch_child))["userlist"]

    # --- messages -------------------------------------------------------------------------------

    def _send(self, userids: list[str], payload: dict) -> dict:
        body = {"touser": "|".join(userids), "agentid": self.agent_id, **payload}
        result = self.post("message/send", body)
        if result.get("invaliduser"):
            log.warning("WeCom message/send: invalid recipients %s", result["invaliduser"])
        return result

    def send_text(self, userids: list[str], content: str) -> list[dict]:
        """Send a text message; recipients are split into batches of at most 1000 per call."""
        userids = _unique(userids)
        return [self._send(batch, {"msgtype": "text", "text": {"content": content}})
                for batch in _batches(userids)]

    def send_textcard(self, userids: list[str], title: str, description: str, url: str,
                      button: str = "详情") -> list[dict]:
        """Send a text card that opens url (a workbench page) when tapped; batched like send_text.

        WeCom limits the title to 128 bytes and the description to 512; longer text is cut."""
        userids = _unique(userids)
        card = {"title": clip_bytes(title, 128), "description": clip_bytes(description, 512), "url": url,
                "btntxt": clip_bytes(button, 8)}
        return [self._send(batch, {"msgtype": "textcard", "textcard": card}) for batch in _batches(userids)]

    def send_template_card(self, userids: list[str], card: dict) -> dict:
        """Send a template card (e.g. button_interaction); WeCom's answer includes response_code."""
        userids = _unique(userids)
        if not userids or len(userids) > MAX_RECIPIENTS:
            raise ValueError(f"a template card goes to 1..{MAX_RECIPIENTS} userids, got {len(userids)}")
        return self._send(userids, {"msgtype": "template_card", "template_card": card})

    def update_template_card(self, userids: list[str], response_code: str, card: dict) -> dict:
        """Replace a sent card (or only its button text, card={"button": {"replace_name": ...}})."""
        userids = _unique(userids)
        body = {"userids": userids, "agentid": self.agent_id, "response_code": response_code}
        if set(card) == {"button"}:
            body["button"] = card["button"]
        else:
            body["template_card"] = card
        return self.post("message/update_template_card", body)

    # --- media ----------------------------------------------------------------------------------

    def upload_media(self, media_type: str, filename: str, content: bytes) -> dict:
        """Upload a temporary media file (image/voice/video/file) → {"media_id", ...}."""
        return self.call("post", "media/upload", params={"type": media_type},
                         files={"media": (filename, content)})


def clip_bytes(text: str, limit: int) -> str:
    """text cut to at most limit UTF-8 bytes, never inside a character (an ellipsis marks the cut)."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[:limit - 3].decode(errors="ignore") + "…"


def _unique(userids) -> list[str]:
    return list(dict.fromkeys(u for u in userids if u))


def _batches(items: list[str], size: int = MAX_RECIPIENTS):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def token_storage():
    """Redis (shared by every process) when configured, else this process's memory."""
    conn = get_redis()
    return RedisStorage(conn, prefix="wecom") if conn is not None else _memory_tokens


def get_client() -> WeComClient:
    """The WeCom client for the current app's configuration (cached per configuration)."""
    cfg = current_app.config
    key = (cfg["WECOM_CORP_ID"], cfg["WECOM_SECRET"], str(cfg["WECOM_AGENT_ID"]), cfg["WECOM_API_BASE"],
           cfg.get("REDIS_URL"))
    cache = current_app.extensions.setdefault("wecom_clients", {})
    client = cache.get(key)
    if client is None:
        client = WeComClient(corp_id=key[0], secret=key[1], agent_id=key[2], api_base=key[3],
                             session=token_storage(), timeout=float(cfg.get("WECOM_TIMEOUT", 10)))
        cache[key] = client
    return client


def _now() -> int:
    return int(time.time())
