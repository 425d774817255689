"""Small helpers for driving the work-item API as different people."""

from __future__ import annotations


class Actor:
    def __init__(self, client, auth):
        self.client, self.auth, self._headers = client, auth, {}

    def headers(self, userid: str) -> dict:
        if userid not in self._headers:
            self._headers[userid] = self.auth.headers(userid)
        return self._headers[userid]

    def act(self, userid: str, item_id: int, action: str, **body):
        return self.client.post(f"/api/v1/work-items/{item_id}/{action}", json=body, headers=self.headers(userid))

    def ok(self, userid: str, item_id: int, action: str, **body) -> dict:
        response = self.act(userid, item_id, action, **body)
        assert response.status_code in (200, 202), response.get_json()
        return response.get_json()

    def get(self, userid: str, item_id: int, **params):
        return self.client.get(f"/api/v1/work-items/{item_id}", query_string=params, headers=self.headers(userid))

    def detail(self, userid: str, item_id: int) -> dict:
        response = self.get(userid, item_id)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def inbox(self, userid: str, **params) -> dict:
        response = self.client.get("/api/v1/work-items", query_string=params, headers=self.headers(userid))
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def numbers(self, userid: str, **params) -> list[str]:
        return [i["number"] for i in self.inbox(userid, **params)["items"]]
