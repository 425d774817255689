"""GET /api/v1/wecom/jsapi-config: the JS-SDK signatures a page in WeCom's in-app browser needs."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, jsonify
from marshmallow import Schema, fields, validate

from app.api import parse_args
from app.errors import ApiError
from app.wecom.client import WeComError
from app.wecom.jssdk import signatures
from miniprogram_api import bp
from miniprogram_api.openapi import doc


class JsapiConfigQuery(Schema):
    url = fields.String(required=True, validate=validate.Length(min=1, max=2000), metadata={
        "description": "the page's URL without its #fragment (location.href.split('#')[0])"})
    refresh = fields.Boolean(load_default=False, metadata={
        "description": "WeCom refused the last signature (40093/42012): fetch fresh tickets once"})


class ConfigSignature(Schema):
    corpId = fields.String()
    timestamp = fields.Integer()
    nonceStr = fields.String()
    signature = fields.String(metadata={"description": "sha1 of jsapi_ticket=…&noncestr=…&timestamp=…&url=…"})


class AgentConfigSignature(ConfigSignature):
    agentId = fields.String()


class JsapiConfigOut(Schema):
    url = fields.String()
    config = fields.Nested(ConfigSignature, metadata={"description": "for wx.config (the corp jsapi_ticket)"})
    agentConfig = fields.Nested(AgentConfigSignature,
                                metadata={"description": "for wx.agentConfig (the agent_config ticket)"})


def _own_page(url: str) -> str:
    """Only our own pages are signed: the endpoint is no signing service for other sites of the corp."""
    parts, ours = urlsplit(url), urlsplit(current_app.config["PUBLIC_BASE_URL"])
    if parts.scheme not in ("http", "https") or (parts.scheme, parts.netloc) != (ours.scheme, ours.netloc):
        raise ApiError(422, "invalid_url", "只能为本系统的页面签名", "url must be a page of PUBLIC_BASE_URL",
                       fields={"url": [f"须以 {current_app.config['PUBLIC_BASE_URL']}/ 开头"]})
    return url.split("#", 1)[0]


@bp.get("/wecom/jsapi-config")
@doc("JS-SDK signatures for a page in WeCom's in-app browser: wx.config and wx.agentConfig", tags=("wecom",),
     query=JsapiConfigQuery, response=JsapiConfigOut, errors=(502,))
def jsapi_config():
    """Both signatures for the page URL; tickets are cached and shared by every process."""
    args = parse_args(JsapiConfigQuery())
    url = _own_page(args["url"])
    try:
        return jsonify(JsapiConfigOut().dump(signatures(url, refresh=args["refresh"])))
    except WeComError as err:
        raise ApiError(502, "wecom_unavailable", "企业微信服务暂不可用，请稍后再试",
                       "WeCom could not be reached for a JS-SDK ticket", wecom=err.to_detail()) from err
