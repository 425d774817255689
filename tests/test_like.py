"""One LIKE-escape helper (app/services/like.py) for every contains / prefix filter: what a user types is
literal, so `q=%` finds a percent sign rather than everything."""

from __future__ import annotations

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
#: SQL LIKE built by hand: the column methods that take a pattern or escape it themselves.
HAND_MADE_LIKE = re.compile(r"autoescape=|\.(?:i?contains|i?like|not_?i?like)\(|\b[A-Z]\w*\.\w+\.startswith\(")


def test_no_module_builds_a_like_of_its_own():
    offenders = []
    for folder in ("app", "miniprogram_api", "h5", "toolbox"):
        for path in (ROOT / folder).rglob("*.py"):
            if "tests" in path.parts or path == ROOT / "app/services/like.py":
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if HAND_MADE_LIKE.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


@pytest.mark.parametrize("q", ["%", "_", "%%", "\\"])
@pytest.mark.parametrize("url", ["/api/v1/users", "/api/v1/places", "/api/v1/work-items",
                                 "/api/v1/tools/construction_sites/sites", "/api/v1/tools/flood_duty/points"])
def test_wildcards_in_a_search_are_literal(client, district, auth, url, q):
    from urllib.parse import quote

    headers = auth.headers("ja-operator")
    assert client.get(url, headers=headers).status_code == 200
    response = client.get(f"{url}?q={quote(q)}", headers=headers)
    assert response.status_code == 200 and response.get_json()["total"] == 0, response.get_json()


def test_a_percent_sign_is_found_as_itself(ctx, district):
    from sqlalchemy import select

    from app.extensions import db
    from app.models.org import OrgUnit
    from app.services.like import contains, starts_with

    unit = district.unit("JA01")
    unit.name = "江宁路100%街道_测试"
    db.session.flush()
    assert db.session.execute(select(OrgUnit.code).where(contains(OrgUnit.name, "100%"))).scalars().all() == ["JA01"]
    assert db.session.execute(select(OrgUnit.code).where(contains(OrgUnit.name, "0%街道_"))).scalars().all() == ["JA01"]
    assert db.session.execute(select(OrgUnit.code).where(contains(OrgUnit.name, "0_街"))).scalars().all() == []
    assert db.session.execute(select(OrgUnit.code).where(starts_with(OrgUnit.path, "/JA/JA01/"))).scalars().all()
    assert db.session.execute(select(OrgUnit.code).where(starts_with(OrgUnit.path, "/JA/%"))).scalars().all() == []
