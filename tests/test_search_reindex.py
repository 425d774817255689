"""`flask toolbox reindex`: rebuild the query index from tools and registered sources, as a job."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models.search import SearchDoc
from app.services import search
from app.signals import SearchableRecord, searchable_saved
from tests.fixtures import REDIS_URL, needs_redis, process_env
from toolbox.registry import Manifest, Tool

GRID = "/JA/JA01/JA01G01/"


def site(id, title, address=""):
    return SearchableRecord(tool="demo_sites", type="site", id=str(id), org_path=GRID, title=title, address=address)


@pytest.fixture
def sources(app, monkeypatch):
    """A registered tool with search_documents, and a work-item source given to register_source."""
    records = {
        "demo_sites": [site(1, "共和新路1号工地"), site(2, "共和新路2号工地"), site(3, "大统路3号工地")],
        "work_items": [SearchableRecord(tool="work_items", type="work_item", id="41", org_path=GRID,
                                        title="JA-2026-000041 共和新路积水")],
    }
    tool = Tool(manifest=Manifest(code="demo_sites", name="演示工地", icon="site", version="1.0"),
                search_documents=lambda: iter(records["demo_sites"]))
    monkeypatch.setitem(app.extensions["toolbox"].tools, "demo_sites", tool)
    monkeypatch.setitem(search._SOURCES, "work_items", lambda: iter(records["work_items"]))
    return records


def indexed(app) -> dict[tuple[str, str], str]:
    with app.app_context():
        rows = db.session.execute(select(SearchDoc.tool, SearchDoc.record_id, SearchDoc.title)).all()
        return {(tool, rid): title for tool, rid, title in rows}


def announce(app, *records):
    with app.app_context():
        for r in records:
            searchable_saved.send(r.tool, record=r)
        db.session.commit()


def test_reindex_rebuilds_from_tools_and_sources_and_drops_stale_documents(app, runner, district, sources):
    announce(app, site(1, "旧标题"), site(99, "已删除但未通知的工地"),
             SearchableRecord(tool="retired_tool", type="x", id="5", org_path=GRID, title="共和新路旧工具"))
    result = runner.invoke(args=["toolbox", "reindex", "--inline"])
    assert result.exit_code == 0, result.output
    assert "demo_sites: 3 indexed" in result.output and "work_items: 1 indexed" in result.output
    assert "1 stale removed" in result.output
    assert indexed(app) == {
        ("demo_sites", "1"): "共和新路1号工地", ("demo_sites", "2"): "共和新路2号工地",
        ("demo_sites", "3"): "大统路3号工地", ("work_items", "41"): "JA-2026-000041 共和新路积水",
        ("retired_tool", "5"): "共和新路旧工具",
    }
    with app.app_context():
        from app.models.users import User
        worker = db.session.execute(select(User).where(User.wecom_userid == "ja01g01-worker")).scalar_one()
        found = search.search(worker, "共和新路")
        assert {(i["tool"], i["id"]) for i in found["items"]} == {
            ("demo_sites", "1"), ("demo_sites", "2"), ("work_items", "41"), ("retired_tool", "5")}

    pruned = runner.invoke(args=["toolbox", "reindex", "--inline", "--prune"])
    assert pruned.exit_code == 0, pruned.output
    assert ("retired_tool", "5") not in indexed(app) and len(indexed(app)) == 4


def test_reindex_of_one_source_leaves_the_others_alone(app, runner, sources):
    announce(app, SearchableRecord(tool="work_items", type="work_item", id="77", org_path=GRID, title="旧工单"))
    result = runner.invoke(args=["toolbox", "reindex", "--inline", "--tool", "demo_sites"])
    assert result.exit_code == 0, result.output
    assert set(indexed(app)) == {("demo_sites", "1"), ("demo_sites", "2"), ("demo_sites", "3"), ("work_items", "77")}


def test_reindex_refuses_an_unknown_source(runner, sources):
    result = runner.invoke(args=["toolbox", "reindex", "--inline", "--tool", "nope"])
    assert result.exit_code != 0 and "no search source named nope" in result.output


def test_rebuild_reports_progress_per_batch(app, sources, monkeypatch):
    sources["demo_sites"][:] = [site(i, f"共和新路{i}号") for i in range(7)]
    monkeypatch.setattr(search.reindex, "REINDEX_BATCH", 3)
    seen = []
    with app.app_context():
        state = search.rebuild(["demo_sites"], progress=seen.append)
    done = [p["done"] for p in seen]
    assert done == sorted(done) and {3, 6, 7} <= set(done)
    assert all(p["total"] >= p["done"] for p in seen)
    assert seen[-1]["finished"] and state["indexed"] == {"demo_sites": 7}


@needs_redis
def test_reindex_job_keeps_its_progress_in_job_meta(app, runner, sources):
    from rq import SimpleWorker
    from rq.job import Job

    from app.jobs import get_queue

    result = runner.invoke(args=["toolbox", "reindex", "--no-wait"])
    assert result.exit_code == 0, result.output
    job_id = re.search(r"queued reindex job (\S+)", result.output).group(1)
    assert indexed(app) == {}  # queued, not run
    with app.app_context():
        queue = get_queue("default")
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
        job = Job.fetch(job_id, connection=queue.connection)
        assert job.get_status() == "finished"
        progress = job.meta["progress"]
    assert progress["finished"] and progress["done"] == 4
    # Every registered tool is a source; the built-in ones have no records in this test.
    assert {source: n for source, n in progress["indexed"].items() if n} == {"demo_sites": 3, "work_items": 1}
    assert len(indexed(app)) == 4


@needs_redis
def test_reindex_command_follows_the_job_until_a_worker_has_run_it(app, tmp_path, sources):
    """The command queues the job and draws its progress; a real worker (here, this process) runs it."""
    from rq import SimpleWorker

    from app.jobs import get_queue

    env = process_env(app, REDIS_URL=REDIS_URL, INSTANCE_PATH=str(tmp_path))
    command = subprocess.Popen([sys.executable, "-m", "flask", "toolbox", "reindex"], env=env, text=True,
                               cwd=Path(__file__).resolve().parent.parent,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        with app.app_context():
            queue = get_queue("default")
            deadline = time.monotonic() + 30
            while queue.count == 0 and command.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert queue.count == 1
            SimpleWorker([queue], connection=queue.connection).work(burst=True)
        output, _ = command.communicate(timeout=30)
    finally:
        if command.poll() is None:
            command.kill()
    assert command.returncode == 0, output
    assert "queued reindex job" in output and "reindex finished: 4 documents written" in output
    assert len(indexed(app)) == 4
