"""One-click query benchmark: build an index of N documents over Jing'an, time typical queries.

    python benchmarks/search_bench.py                        # 1,000,000 docs, PostgreSQL and SQLite
    python benchmarks/search_bench.py --docs 50000 --backend sqlite
    python benchmarks/search_bench.py --backend postgresql --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_search

It DROPS AND RECREATES the benchmark database (PostgreSQL: every table of --pg-url's public schema,
so never point it at a real database; SQLite: the --sqlite-path file). Documents are synthetic but
shaped like the district's records — construction sites, buildings and facade inspections, flood
points, citizen reports and work items — spread over the 14 streets, 85 grids and 266 committees,
loaded through the same code path as `flask toolbox reindex` (app.services.search.index_records).

Reported per backend: build time (load + ANALYZE/optimise), index size, and p50/p95/max latency of
app.services.search.search() — the whole query the API runs (scope, count + facets, ranked page,
snippets) — for grid workers' and for the district operator's typical queries. Not part of the tests.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

ROADS = [
    "共和新路", "南京西路", "延安中路", "北京西路", "新闸路", "威海路", "万航渡路", "江宁路", "常德路", "西康路",
    "陕西北路", "石门二路", "石门一路", "大田路", "成都北路", "乌鲁木齐北路", "华山路", "愚园路", "长寿路",
    "胶州路", "武定路", "康定路", "昌平路", "海防路", "西苏州路", "天目西路", "天目中路", "恒丰路", "大统路",
    "中兴路", "芷江西路", "芷江中路", "柳营路", "宝山路", "宝昌路", "青云路", "永兴路", "光复路", "西藏北路",
    "广中西路", "大宁路", "平型关路", "延长中路", "灵石路", "沪太路", "汶水路", "共和路", "场中路", "广延路",
    "临汾路", "阳曲路", "岭南路", "彭浦路", "平顺路", "闻喜路", "三泉路", "保德路", "永和路", "江场路", "万荣路",
]
COMMUNITY_HEADS = ["大宁", "彭浦", "临汾", "宝山", "天目", "芷江", "江宁", "石门", "延中", "静安", "曹家渡", "北站",
                   "共和", "中兴", "华山", "康乐", "新福康", "蕃瓜弄", "洪南", "三泉", "阳曲", "平型关", "岭南", "永和"]
COMMUNITY_TAILS = ["新村", "小区", "公寓", "花园", "大楼", "苑", "坊", "里", "新苑", "家园"]
SITE_WORKS = ["外立面改造工程", "厨卫综合改造", "屋面修缮工程", "燃气管线改造", "店招店牌更换", "室内装修工程",
              "雨污水管道改造", "电梯加装工程"]
SITE_NOTES = ["脚手架未设安全网", "围挡破损需修复", "渣土未覆盖", "夜间施工扰民", "扬尘控制到位", "施工许可已公示",
              "文明施工检查合格", "临时用电不规范", "材料堆放占用人行道", "安全帽佩戴不全"]
FACADE_NOTES = ["外墙瓷砖空鼓", "外墙面砖脱落", "空调外机支架锈蚀", "雨棚松动", "窗框老化", "阳台混凝土剥落",
                "外墙保温层开裂", "防盗窗锈蚀严重", "广告牌固定不牢", "无明显隐患"]
FLOOD_NOTES = ["暴雨时积水深度约20厘米", "下立交易积水", "泵站运行正常", "雨水口堵塞", "已布设沙袋", "值班人员到岗"]
REPORT_CATEGORIES = ["乱堆物", "占道经营", "噪声扰民", "路面破损", "井盖缺失", "绿化损坏", "违规停车", "垃圾满溢",
                     "路灯不亮", "油烟扰民"]
WORK_CATEGORIES = ["高坠隐患处置", "积水处置", "工地扬尘", "违法搭建", "市容环境", "道路设施", "噪声投诉"]
STATUSES = {
    "site": ["active", "suspended", "finished"],
    "building": ["normal", "hazard", "fixed"],
    "inspection": ["submitted", "hazard_found", "reviewed"],
    "point": ["normal", "watch", "waterlogged"],
    "report": ["received", "dispatched", "closed"],
    "work_item": ["dispatched", "accepted", "handling", "reviewing", "closed"],
}
NOW = datetime(2026, 11, 25, tzinfo=UTC)


class Geography:
    """Roads and communities per grid, from the seeded org tree."""

    def __init__(self, units, rng: random.Random):
        # plain values, not ORM objects: those expire at every commit of the load loop
        units = [SimpleNamespace(code=u.code, path=u.path, level=u.level) for u in units]
        self.streets = sorted((u for u in units if u.level == "street"), key=lambda u: u.code)
        self.grids = sorted((u for u in units if u.level == "grid"), key=lambda u: u.code)
        self.committees: dict[str, list] = {}
        for u in units:
            if u.level == "committee":
                self.committees.setdefault(u.path.rsplit("/", 2)[0] + "/", []).append(u)
        street_roads = {s.path: rng.sample(ROADS, 9) for s in self.streets}
        self.grid_roads = {}
        self.grid_communities = {}
        for g in self.grids:
            street_path = g.path.rsplit("/", 2)[0] + "/"
            self.grid_roads[g.path] = rng.sample(street_roads[street_path], 4)
            self.grid_communities[g.path] = [rng.choice(COMMUNITY_HEADS) + rng.choice(COMMUNITY_TAILS)
                                             for _ in range(6)]


def generate(n: int, geo: Geography, rng: random.Random):
    """Yield n SearchableRecords spread over the district."""
    from app.signals import SearchableRecord

    seq = 0
    kinds = [("work_items", "work_item", 30), ("citizen_report", "report", 22), ("facade_inspection", "inspection", 20),
             ("construction_sites", "site", 15), ("facade_inspection", "building", 10), ("flood_duty", "point", 3)]
    population = [(tool, typ) for tool, typ, weight in kinds for _ in range(weight)]
    for i in range(n):
        tool, typ = population[i % len(population)]
        grid = geo.grids[rng.randrange(len(geo.grids))]
        committees = geo.committees.get(grid.path) or [grid]
        road = rng.choice(geo.grid_roads[grid.path])
        community = rng.choice(geo.grid_communities[grid.path])
        number = rng.randint(1, 1500)
        address = f"{road}{number}号"
        path = rng.choice(committees).path if typ in ("building", "inspection", "report") else grid.path
        if typ == "site":
            title, text = f"{address}{rng.choice(SITE_WORKS)}", "；".join(rng.sample(SITE_NOTES, 2))
        elif typ == "building":
            title = f"{community}{rng.randint(1, 40)}号楼"
            address = f"{road}{number}弄{rng.randint(1, 40)}号"
            text = rng.choice(FACADE_NOTES)
        elif typ == "inspection":
            title = f"{community}{rng.randint(1, 40)}号楼外墙巡查"
            text = "；".join(rng.sample(FACADE_NOTES, 2))
        elif typ == "point":
            title, text = f"{road}{rng.choice(ROADS)}路口积水点", "；".join(rng.sample(FLOOD_NOTES, 2))
        elif typ == "report":
            title = f"{rng.choice(REPORT_CATEGORIES)}：{address}附近"
            phone = f"139{rng.randint(0, 10**8 - 1):08d}"
            text = f"市民反映{road}{community}门口{rng.choice(REPORT_CATEGORIES)}，联系电话{phone}"
        else:
            seq += 1
            title = f"JA-2026-{seq:06d} {rng.choice(WORK_CATEGORIES)}"
            text = f"{community}{rng.choice(REPORT_CATEGORIES)}，请{rng.choice(['街道', '网格', '城管中队'])}处置"
            path = path if rng.random() < 0.8 else grid.path.rsplit("/", 2)[0] + "/"
        yield SearchableRecord(tool=tool, type=typ, id=str(i + 1), org_path=path, title=title, address=address,
                               text=text, status=rng.choice(STATUSES[typ]),
                               updated_at=NOW - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60)))


def reset_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and os.path.exists(parsed.database):
            os.remove(parsed.database)
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    engine = create_engine(parsed)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def index_size(db) -> dict[str, int]:
    if db.engine.dialect.name == "postgresql":
        q = db.session.execute(text(
            "SELECT pg_total_relation_size('search_doc'), pg_relation_size('search_doc'), "
            "pg_relation_size('ix_search_doc_tokens'), pg_indexes_size('search_doc')")).one()
        return {"table+indexes": q[0], "heap": q[1], "gin_index": q[2], "all_indexes": q[3]}
    path = db.engine.url.database
    fts = db.session.execute(text(
        "SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name LIKE 'search_doc_fts%'")).scalar() if _has_dbstat(db) \
        else None
    sizes = {"database_file": os.path.getsize(path)}
    if fts is not None:
        sizes["fts5_index"] = fts
    return sizes


def _has_dbstat(db) -> bool:
    try:
        db.session.execute(text("SELECT 1 FROM dbstat LIMIT 1"))
        return True
    except Exception:  # noqa: BLE001 - SQLite built without SQLITE_ENABLE_DBSTAT_VTAB
        db.session.rollback()
        return False


def mb(n: int) -> str:
    return f"{n / 1024 / 1024:,.1f} MB"


def typical_queries(db, user, rng: random.Random, count: int) -> list[str]:
    """Queries a user would type, drawn from records in their scope: roads, addresses, names, numbers."""
    from app.models.search import SearchDoc
    from app.services.scope import scope_clause

    start = int(rng.random() * 0.9 * (db.session.execute(select(func.max(SearchDoc.id))).scalar() or 0))
    docs = db.session.execute(select(SearchDoc.title, SearchDoc.address, SearchDoc.type).where(
        scope_clause(SearchDoc.org_path, user), SearchDoc.id > start).order_by(SearchDoc.id).limit(200)).all()
    queries = []
    for title, address, typ in docs:
        road = next((r for r in ROADS if address.startswith(r)), None)
        choice = rng.random()
        if typ == "work_item" and choice < 0.5:
            queries.append(title.split()[0])                        # a work-item number
        elif choice < 0.35 and road:
            queries.append(road)                                    # a road name
        elif choice < 0.6:
            queries.append(address.split("弄")[0].split("号")[0] + "号")  # an address
        elif choice < 0.8 and (name := re.match(r"[\u4e00-\u9fff]{2,}", title)):
            queries.append(name.group()[:4])                        # a name fragment (community, road)
        else:
            queries.append(rng.choice(["脚手架", "外墙 脱落", "积水", "占道经营", "扬尘", "空鼓", "井盖"]))
    rng.shuffle(queries)
    return (queries * (count // max(len(queries), 1) + 1))[:count]


def time_queries(app, db, userids: list[str], runs: int, rng: random.Random):
    from app.models.users import User
    from app.services.search import search

    samples, totals, queries_seen = [], [], []
    for userid in userids:
        user = db.session.execute(select(User).where(User.wecom_userid == userid)).scalar_one()
        queries = typical_queries(db, user, rng, max(runs // len(userids), 1))
        for q in queries[:5]:  # warm caches the way a running server is warm
            search(user, q)
        for q in queries:
            started = time.perf_counter()
            result = search(user, q)
            samples.append((time.perf_counter() - started) * 1000)
            totals.append(result["total"])
            queries_seen.append(q)
            db.session.rollback()
    return samples, totals, queries_seen


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def time_existing(url: str, runs: int, seed: int) -> None:
    """--reuse: time the queries on the index a previous run built (the same grid workers, the same queries)."""
    from app import create_app
    from app.extensions import db
    from app.models.org import OrgUnit
    from app.models.search import SearchDoc

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None, "SECRET_KEY": "search-bench",
                      "FIELD_ENCRYPTION_KEYS": ["search-bench-field-key"]})
    rng = random.Random(seed)
    with app.app_context():
        geo = Geography(db.session.execute(select(OrgUnit)).scalars().all(), rng)
        grid_workers = [f"{g.code.lower()}-worker" for g in rng.sample(geo.grids, 10)]
        print(f"reusing {db.session.execute(select(func.count(SearchDoc.id))).scalar():,} documents", flush=True)
        report_latency(app, db, grid_workers, runs, seed)


def run(backend: str, url: str, docs: int, runs: int, seed: int, batch: int, cluster: bool = False,
        sizes: list[int] | None = None, reuse: bool = False) -> None:
    from app import create_app
    from app.extensions import db
    from app.models.org import OrgUnit
    from app.services.district import seed as seed_district
    from app.services.search import index_records

    print(f"\n=== {backend}: {docs:,} documents  ({make_url(url).render_as_string(hide_password=True)})", flush=True)
    if reuse:
        return time_existing(url, runs, seed)
    reset_database(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None, "SECRET_KEY": "search-bench",
                      "FIELD_ENCRYPTION_KEYS": ["search-bench-field-key"]})
    rng = random.Random(seed)
    with app.app_context():
        db.create_all()
        seed_district()
        geo = Geography(db.session.execute(select(OrgUnit)).scalars().all(), rng)
        grid_workers = [f"{g.code.lower()}-worker" for g in rng.sample(geo.grids, 10)]
        milestones = sorted({n for n in (sizes or [docs]) if n <= docs} | {docs})
        started = time.perf_counter()
        pending = []
        loaded = 0
        growth = []
        records = generate(docs, geo, rng)
        for milestone in milestones:
            for record in records:
                pending.append(record)
                if len(pending) >= batch or loaded + len(pending) >= milestone:
                    loaded += index_records(pending)
                    db.session.commit()
                    pending = []
                    if loaded % (batch * 20) == 0:
                        rate = loaded / (time.perf_counter() - started)
                        print(f"  loaded {loaded:>9,}  ({rate:,.0f} docs/s)", flush=True)
                    if loaded >= milestone:
                        break
            load_seconds = time.perf_counter() - started
            finish_seconds = finish_build(db, backend)
            finish = "VACUUM ANALYZE" if backend == "postgresql" else "FTS optimize + ANALYZE"
            print(f"\n--- {loaded:,} docs: loaded in {load_seconds:,.1f} s so far "
                  f"({loaded / load_seconds:,.0f} docs/s), {finish} {finish_seconds:,.1f} s")
            print("size:  " + ", ".join(f"{k} {mb(v)}" for k, v in index_size(db).items()))
            growth.append((loaded, report_latency(app, db, grid_workers, runs, seed)))
        if len(growth) > 1:
            print(f"\ngrowth ({backend}): p95 ms by documents")
            for label in growth[0][1]:
                cells = "  ".join(f"{n:>9,}: {figures[label]['p95']:7.1f}" for n, figures in growth)
                print(f"  {label:24} {cells}")
            first, last = growth[0], growth[-1]
            for label in first[1]:
                print(f"  {label:24} p95 x{last[1][label]['p95'] / first[1][label]['p95']:.2f} for "
                      f"x{last[0] / first[0]:.0f} documents")
        if cluster and backend == "postgresql":
            # Ops lever: store each subtree's documents together (takes an exclusive lock while it runs).
            started = time.perf_counter()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("CLUSTER search_doc USING ix_search_doc_org_path"))
                conn.execute(text("ANALYZE search_doc"))
            print(f"after CLUSTER search_doc USING ix_search_doc_org_path ({time.perf_counter() - started:,.1f} s):")
            report_latency(app, db, grid_workers, runs, seed)


def finish_build(db, backend: str) -> float:
    started = time.perf_counter()
    if backend == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE search_doc"))
    else:
        db.session.execute(text("INSERT INTO search_doc_fts(search_doc_fts) VALUES ('optimize')"))
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    return time.perf_counter() - started


def report_latency(app, db, grid_workers: list[str], runs: int, seed: int) -> dict:
    rng = random.Random(seed + 1)  # the same queries on every call
    figures = {}
    for label, userids in (("grid worker (10 grids)", grid_workers), ("district operator", ["ja-operator"])):
        samples, totals, _ = time_queries(app, db, userids, runs, rng)
        figures[label] = {"p50": percentile(samples, 50), "p95": percentile(samples, 95)}
        capped = sum(1 for t in totals if t >= 1000)
        print(f"{label:24} n={len(samples):4}  p50 {percentile(samples, 50):7.1f} ms  "
              f"p95 {percentile(samples, 95):7.1f} ms  max {max(samples):7.1f} ms  "
              f"(matches per query: median {statistics.median(totals):,.0f}, max {max(totals):,}; "
              f"{capped} capped at 1000+)", flush=True)
    return figures


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=1_000_000, help="documents to index (default 1,000,000)")
    parser.add_argument("--sizes", default="100000,300000,1000000",
                        help="time the queries when the index reaches each of these sizes (≤ --docs), and print "
                             "the growth; the default shows 100 k → 1 M")
    parser.add_argument("--backend", choices=("postgresql", "sqlite", "both"), default="both")
    parser.add_argument("--pg-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_search"))
    parser.add_argument("--sqlite-path", default=str(Path("instance") / "bench_search.db"))
    parser.add_argument("--runs", type=int, default=300, help="timed queries per user class")
    parser.add_argument("--batch", type=int, default=2000, help="documents per insert batch")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--reuse", action="store_true",
                        help="do not build: time the queries on the index the last run left in the database")
    parser.add_argument("--cluster", action="store_true",
                        help="PostgreSQL: afterwards CLUSTER the table by org path and time the queries again")
    args = parser.parse_args(argv)
    os.environ.pop("REDIS_URL", None)  # jobs inline; the benchmark needs no Redis
    targets = []
    if args.backend in ("postgresql", "both"):
        targets.append(("postgresql", args.pg_url))
    if args.backend in ("sqlite", "both"):
        Path(args.sqlite_path).parent.mkdir(parents=True, exist_ok=True)
        targets.append(("sqlite", f"sqlite:///{Path(args.sqlite_path).resolve()}"))
    for backend, url in targets:
        run(backend, url, args.docs, args.runs, args.seed, args.batch, args.cluster,
            [int(n) for n in args.sizes.split(",") if n.strip()], args.reuse)


if __name__ == "__main__":
    main()
