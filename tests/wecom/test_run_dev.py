"""`make run` starts the simulator with the app's own WECOM_* values, whatever they are."""

import socket

from app.run_dev import start_simulator
from app.wecom.client import get_client


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_simulator_follows_custom_wecom_settings(make_app):
    port = _free_port()
    app = make_app(WECOM_CORP_ID="ww_custom", WECOM_SECRET="s3cret", WECOM_AGENT_ID="1000777", WECOM_TOKEN="tk",
                   WECOM_AES_KEY="ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210abcdefg",
                   WECOM_API_BASE=f"http://127.0.0.1:{port}/cgi-bin/")
    server = start_simulator(app, "127.0.0.1", 5999)
    try:
        assert server.url == f"http://127.0.0.1:{port}"
        assert server.app.config["CALLBACK_URL"] == "http://127.0.0.1:5999/wecom/callback"
        with app.app_context():
            assert get_client().get_user("ja01g01-worker")["name"] == "江宁网格员01"
            assert get_client().send_text(["ja-admin"], "hi")[0]["errcode"] == 0
    finally:
        server.stop()


def test_no_simulator_for_a_real_wecom_host(make_app):
    app = make_app(WECOM_API_BASE="https://qyapi.weixin.qq.com/cgi-bin/")
    assert start_simulator(app, "127.0.0.1", 5000) is None
