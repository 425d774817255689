"""The local WeCom simulator answers with WeCom's shapes and errcodes (driven over real HTTP)."""

import requests

from app.services.district_data import demo_staff, units


def get(sim, path, **params):
    return requests.get(f"{sim.url}/cgi-bin/{path}", params=params, timeout=10).json()


def post(sim, path, body, **params):
    return requests.post(f"{sim.url}/cgi-bin/{path}", params=params, json=body, timeout=10).json()


def token(sim, app):
    res = get(sim, "gettoken", corpid=app.config["WECOM_CORP_ID"], corpsecret=app.config["WECOM_SECRET"])
    assert res["errcode"] == 0 and res["expires_in"] == 7200
    return res["access_token"]


def test_gettoken_checks_corp_and_secret(app, wecom_sim):
    assert get(wecom_sim, "gettoken", corpid="other", corpsecret=app.config["WECOM_SECRET"])["errcode"] == 40013
    assert get(wecom_sim, "gettoken", corpid=app.config["WECOM_CORP_ID"], corpsecret="x")["errcode"] == 40001
    assert token(wecom_sim, app)


def test_calls_need_a_valid_token(app, wecom_sim):
    assert get(wecom_sim, "user/get", userid="ja-admin")["errcode"] == 41001
    assert get(wecom_sim, "user/get", userid="ja-admin", access_token="forged")["errcode"] == 40014
    t = token(wecom_sim, app)
    wecom_sim.expire_token()
    assert get(wecom_sim, "user/get", userid="ja-admin", access_token=t)["errcode"] == 42001


def test_login_codes_are_one_time_and_expire(app, wecom_sim):
    t = token(wecom_sim, app)
    code = wecom_sim.code("ja01g01-worker")
    first = get(wecom_sim, "miniprogram/jscode2session", access_token=t, js_code=code,
                grant_type="authorization_code")
    assert first["userid"] == "ja01g01-worker" and first["corpid"] == app.config["WECOM_CORP_ID"]
    assert first["session_key"]
    again = get(wecom_sim, "miniprogram/jscode2session", access_token=t, js_code=code,
                grant_type="authorization_code")
    assert again["errcode"] == 40163
    assert get(wecom_sim, "miniprogram/jscode2session", access_token=t, js_code="nope",
               grant_type="authorization_code")["errcode"] == 40029
    expired = wecom_sim.code("ja01g01-worker", expires_in=0)
    assert get(wecom_sim, "auth/getuserinfo", access_token=t, code=expired)["errcode"] == 40029


def test_getuserinfo_gives_userid_to_members_and_openid_to_others(app, wecom_sim):
    t = token(wecom_sim, app)
    assert get(wecom_sim, "auth/getuserinfo", access_token=t, code=wecom_sim.code("ja-admin"))["userid"] == "ja-admin"
    outsider = get(wecom_sim, "auth/getuserinfo", access_token=t, code=wecom_sim.code("outsider"))
    assert outsider["errcode"] == 0 and "userid" not in outsider and outsider["openid"]


def test_directory_matches_the_seeded_district(app, wecom_sim):
    t = token(wecom_sim, app)
    departments = get(wecom_sim, "department/list", access_token=t)["department"]
    assert len(departments) == len(units()) == 372
    assert {d["id"] for d in departments} == {u.wecom_department_id for u in units()}
    street = next(d for d in departments if d["id"] == 101)
    assert street == {"id": 101, "name": "江宁路街道", "parentid": 1, "order": street["order"]}
    members = get(wecom_sim, "user/list", access_token=t, department_id=1, fetch_child=1)["userlist"]
    assert {m["userid"] for m in members} == {s.userid for s in demo_staff()}
    grid = get(wecom_sim, "user/list", access_token=t, department_id=1101)["userlist"]
    assert [m["userid"] for m in grid] == ["ja01g01-worker"]
    user = get(wecom_sim, "user/get", access_token=t, userid="ja01g01-worker")
    assert user["department"] == [1101] and user["mobile"].startswith("139") and user["status"] == 1
    assert get(wecom_sim, "user/get", access_token=t, userid="ghost")["errcode"] == 60111
    assert get(wecom_sim, "department/list", access_token=t, id=999999)["errcode"] == 60123


def test_message_send_validates_agent_and_reports_invalid_users(app, wecom_sim):
    t = token(wecom_sim, app)
    body = {"touser": "ja-admin|ghost", "agentid": 1000002, "msgtype": "text", "text": {"content": "hi"}}
    res = post(wecom_sim, "message/send", body, access_token=t)
    assert res["errcode"] == 0 and res["invaliduser"] == "ghost" and res["msgid"]
    assert post(wecom_sim, "message/send", {**body, "agentid": 1}, access_token=t)["errcode"] == 40056
    assert wecom_sim.messages() == [body]


def test_tap_refuses_cards_never_sent_to_that_user(app, wecom_sim):
    res = requests.post(f"{wecom_sim.url}/_sim/tap", json={"userid": "ja-admin", "task_id": "none",
                                                           "event_key": "x"}, timeout=10)
    assert res.status_code == 404


def test_media_upload_shape(app, wecom_sim):
    t = token(wecom_sim, app)
    res = requests.post(f"{wecom_sim.url}/cgi-bin/media/upload", params={"access_token": t, "type": "image"},
                        files={"media": ("a.jpg", b"\xff\xd8\xff\xe0 jpeg bytes")}, timeout=10).json()
    assert res["errcode"] == 0 and res["type"] == "image" and res["media_id"] and res["created_at"]
    bad = requests.post(f"{wecom_sim.url}/cgi-bin/media/upload", params={"access_token": t, "type": "exe"},
                        files={"media": ("a", b"12345")}, timeout=10).json()
    assert bad["errcode"] == 40004


def test_oauth_authorize_page_redirects_back_with_code_and_state(app, wecom_sim):
    res = requests.get(f"{wecom_sim.url}/connect/oauth2/authorize", params={
        "appid": app.config["WECOM_CORP_ID"], "redirect_uri": "http://127.0.0.1:5000/cb?x=1", "state": "s1",
        "userid": "ja-admin", "response_type": "code", "scope": "snsapi_base"}, allow_redirects=False, timeout=10)
    assert res.status_code == 302
    assert res.headers["Location"].startswith("http://127.0.0.1:5000/cb?x=1&code=")
    assert res.headers["Location"].endswith("&state=s1")
    page = requests.get(f"{wecom_sim.url}/connect/oauth2/authorize", params={
        "appid": app.config["WECOM_CORP_ID"], "redirect_uri": "http://127.0.0.1:5000/cb"}, timeout=10)
    assert page.status_code == 200 and "ja01g01-worker" in page.text


def test_tap_reports_an_unreachable_callback(app, wecom_sim):
    from app.wecom.client import get_client

    with app.app_context():
        get_client().send_template_card(["ja-admin"], {"card_type": "button_interaction", "task_id": "t-x",
                                                       "main_title": {"title": "x"},
                                                       "button_list": [{"text": "ok", "key": "ok"}]})
    res = requests.post(f"{wecom_sim.url}/_sim/tap", json={"userid": "ja-admin", "task_id": "t-x", "event_key": "ok",
                                                           "callback_url": "http://127.0.0.1:9/wecom/callback"},
                        timeout=15)
    assert res.status_code == 502
