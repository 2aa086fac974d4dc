"""The issue's scale test with real processes: many tenants, one global points pool.

    .venv/bin/python benchmarks/scale.py [--mode governed|self-paced|both] [--tenants 20]
        [--issues 500] [--points 6000] [--window 30] [--margin 0.05] [--burst 0.03]
        [--kills 5] [--serve 2] [--workers 3] [--concurrency 4]

Sandbox sites, one per tenant (each on its own port, hosted here), share ONE global points
pool (`jirakit.sandbox.PointsQuota`, Tier 1). On a fresh database of the local Postgres,
this starts ``--serve`` ``jirakit serve`` and ``--workers`` ``jirakit worker`` processes,
all given the same settings. Half the tenants backfill: a ``sync_connection`` job each (a
first load of its site over OAuth into a DuckDB file of its own), run by the workers. The
other half are service tenants with an OAuth connection each; a thread per tenant reads
issues through the serve processes in turn (``GET /task/{connection}/task/{id}``, a pause
of 0.5-1.5 s between calls), and every fifth call renames an issue (``PATCH``). Each of
those tenants subscribed (``POST /unified/webhook``, native) to its tasks' updates: Jira
(the sandbox) pushes a signed dynamic webhook to the receiver ``jirakit serve`` hosts, the
workers apply the inbox and deliver ``task.updated`` to a subscriber run here. Meanwhile a worker is killed with ``kill -9`` at random
moments (``--kills`` times) and started again.

Modes: ``governed`` (``JIRAKIT_GOVERNOR=postgresql://...``: one budget in Postgres for
every process) and ``self-paced`` (``JIRAKIT_GOVERNOR=off``: each client paces only itself
from Jira's headers, the baseline).

Reported: quota 429s (the sandbox's count); the pool's use in each full window while
backfills are pending (at least half of them unfinished) and over all of them together
(the sandbox charges a request when it answers, so one admitted at a window's end counts
in the next: single windows read above and below what was spent); every interactive
tenant's p95
wait (``X-Jirakit-Waited``: seconds the service's Jira calls waited for the governor,
pacing and 429 retries) and the worst of them; the jobs (all succeeded, attempts); the
warehouses against the sandboxes' stores (exactly once: every issue once, none missing);
the webhooks: every rename delivered to the subscriber, each event under one
``webhook-id`` (a delivery repeated under the same id, after a worker was killed between
the subscriber's answer and the mark, is counted as a redelivery: Standard Webhooks'
receivers drop it by id).
``tests/scale/test_scale.py`` runs the governed mode and asserts the pass conditions.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

PG = os.environ.get("JIRAKIT_BENCH_PG", "host=127.0.0.1 port=5432 dbname=test user=postgres")
PG_SERVER = os.environ.get("JIRAKIT_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")
ENCRYPTION_KEY = "c2NhbGUtdGVzdC1lbmNyeXB0aW9uLWtleS0wMDAwMDA="  # 32 bytes, for this run only
SANDBOX_CLIENT, SANDBOX_SECRET = "sandbox-client", "sandbox-secret"  # the sandbox's OAuth app


@dataclass
class Options:
    mode: str = "governed"
    tenants: int = 20
    issues: int = 500
    points: int = 6000
    window: float = 30.0
    margin: float = 0.05
    burst: float = 0.03
    kills: int = 5
    serve: int = 2
    workers: int = 3
    concurrency: int = 4
    seed: int = 1
    timeout: float = 480.0
    webhook_timeout: float = 120.0
    log_dir: str | None = None


@dataclass
class Tenant:
    name: str
    kind: str  # backfill or interactive
    sandbox: Any
    url: str
    api_url: str
    token: str
    cloud_id: str
    refresh_token: str | None
    key: str | None = None  # the service API key (interactive)
    connection: str | None = None
    hook: dict[str, Any] | None = None  # the tenant's webhook subscription (interactive)
    renamed: list[str] = field(default_factory=list)  # names set by a PATCH answered 200
    ids: list[str] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def p95(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[int(0.95 * (len(ordered) - 1))]


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    import httpx

    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up in {timeout:.0f} s")


def _service_setup(db_url: str, tenants: list[Tenant]) -> None:
    """Service tenants and their OAuth connections, written as `jirakit serve` would
    after consent (each pointing at its own sandbox site's OAuth address)."""
    from jirakit.service import load_settings
    from jirakit.service.connections import build_connection
    from jirakit.service.db import migrate
    from jirakit.service.state import ServiceState
    from jirakit.service.tenants import create_tenant

    settings = load_settings(database_url=db_url, encryption_keys=ENCRYPTION_KEY)
    state = ServiceState.build(settings)
    migrate(state.engine)
    with state.sessions() as session, session.begin():
        for t in tenants:
            tenant, key = create_tenant(session, t.name)
            conn = build_connection(
                state,
                tenant.id,
                "oauth2",
                site=t.url,
                oauth_token={
                    "access_token": t.token,
                    "refresh_token": t.refresh_token,
                    "expires_at": time.time() + 3000,
                    "token_type": "Bearer",
                },
                cloud_id=t.cloud_id,
            )
            conn.api_base = t.api_url  # each site answers OAuth calls on its own port
            session.add(conn)
            session.flush()
            t.key, t.connection = key, conn.id
    state.engine.dispose()


def _subscribe(serve_url: str, t: Tenant, hook_url: str) -> dict[str, Any]:
    """The tenant's native subscription to its tasks' updates (serve registers a dynamic
    webhook on the tenant's site, pointing at its own receiver)."""
    import httpx

    answer = httpx.post(
        f"{serve_url}/unified/webhook",
        headers={"Authorization": f"Bearer {t.key}"},
        json={"connection_id": t.connection, "object_type": "task_task", "event": "updated",
              "hook_url": hook_url},
        timeout=60,
    )  # fmt: skip
    if answer.status_code != 200 or answer.json().get("webhook_type") != "native":
        raise RuntimeError(f"subscribing {t.name}: {answer.status_code} {answer.text[:300]}")
    return dict(answer.json())


def _webhooks(interactive: list[Tenant], subscriber: Any) -> dict[str, Any]:
    """What reached the subscriber against the renames: each delivered, each event under
    one id (repeats of an id are redeliveries), none forged or unexpected."""
    from jirakit.service import verify
    from jirakit.service.signing import WebhookVerificationError

    secrets = {t.hook["id"]: t for t in interactive if t.hook}
    names: dict[str, set[str]] = {t.name: set() for t in interactive}
    ids: dict[str, str] = {}  # webhook-id -> the event's identity
    redeliveries = unverified = 0
    for delivery in list(subscriber.deliveries):
        event = None
        for t in secrets.values():
            try:
                event = verify(t.hook["secret"], delivery.headers, delivery.body)
            except WebhookVerificationError:
                continue
            break
        if event is None:
            unverified += 1
            continue
        tenant = secrets[event["webhook"]["id"]]
        identity = json.dumps([tenant.name, event["type"], event["data"].get("name")])
        wid = delivery.headers["webhook-id"]
        if wid in ids:
            redeliveries += 1
            continue
        ids[wid] = identity
        names[tenant.name].add(str(event["data"].get("name")))
    expected = sum(len(t.renamed) for t in interactive)
    missing = sum(len(set(t.renamed) - names[t.name]) for t in interactive)
    identities = list(ids.values())
    return {
        "renames": expected,
        "delivered": len(ids),
        "missing": missing,
        "redeliveries": redeliveries,
        # two ids carrying the same event: a duplicate a receiver could not drop
        "same_event_twice": len(identities) - len(set(identities)),
        "unverified": unverified,
    }


def _truth(t: Tenant, dest: Path) -> dict[str, Any]:
    """The warehouse against the sandbox's store: every issue once, none missing."""
    import duckdb

    con = duckdb.connect(str(dest), read_only=True)
    try:
        rows = con.sql("select id, key, summary from issues where not is_deleted").fetchall()
    finally:
        con.close()
    store = {int(r.id): (r.key, r.fields.get("summary")) for r in t.sandbox.store.issues.values()}
    held = [(int(i), (k, s)) for i, k, s in rows]
    ids = [i for i, _ in held]
    return {
        "rows": len(held),
        "issues": len(store),
        "duplicates": len(ids) - len(set(ids)),
        "equal": dict(held) == store,
    }


def run(options: Options) -> dict[str, Any]:
    import httpx
    import psycopg

    from jirakit.jobs.queue import open_queue
    from jirakit.jobs.tasks import SyncTarget
    from jirakit.sandbox import PointsQuota, Sandbox
    from jirakit.sandbox.serve import free_port
    from jirakit.testing.oauth import sandbox_grant
    from jirakit.testing.webhooks import WebhookReceiver

    rng = random.Random(options.seed)
    name = f"jk_scale_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(PG, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    pg_url = f"{PG_SERVER}/{name}"
    work = Path(tempfile.mkdtemp(prefix="jirakit-scale-"))
    logs = Path(options.log_dir) if options.log_dir else work
    logs.mkdir(parents=True, exist_ok=True)
    quota = PointsQuota(options.points, window=options.window, pool="global")
    procs: dict[str, subprocess.Popen[bytes]] = {}
    stop = threading.Event()
    try:
        with ExitStack() as stack:
            tenants: list[Tenant] = []
            for i in range(options.tenants):
                kind = "backfill" if i % 2 == 0 else "interactive"
                site = stack.enter_context(
                    Sandbox(
                        seed=i,
                        issues=options.issues if kind == "backfill" else 40,
                        projects=1,
                        points_quota=quota,
                        cloud_id=f"site-{i:02d}",
                    )
                )
                url = stack.enter_context(site.serve())
                grant = sandbox_grant(url, client_id=SANDBOX_CLIENT, client_secret=SANDBOX_SECRET)
                t = Tenant(
                    f"tenant-{i:02d}",
                    kind,
                    site,
                    url,
                    grant.api_url,
                    grant.access_token,
                    grant.cloud_id,
                    grant.refresh_token,
                )
                t.ids = [str(r.id) for r in list(site.store.issues.values())[:20]]
                tenants.append(t)
            backfills = [t for t in tenants if t.kind == "backfill"]
            interactive = [t for t in tenants if t.kind == "interactive"]
            _service_setup(pg_url.replace("postgresql://", "postgresql+psycopg://"), interactive)

            subscriber = stack.enter_context(WebhookReceiver())
            ports = [free_port() for _ in range(options.serve)]
            serve_urls = [f"http://127.0.0.1:{p}" for p in ports]
            env = {
                **os.environ,
                "PYTHONUNBUFFERED": "1",
                "JIRAKIT_DB": pg_url.replace("postgresql://", "postgresql+psycopg://"),
                "JIRAKIT_JOBS_URL": pg_url,
                "JIRAKIT_ENCRYPTION_KEYS": ENCRYPTION_KEY,
                # serve defers the due work (deliveries, inbox) as jobs; workers run them
                "JIRAKIT_BACKGROUND": "true",
                "JIRAKIT_BACKGROUND_INTERVAL": "0.5",
                # Jira posts to serve-0 (any serve would do: they share the database)
                "JIRAKIT_PUBLIC_URL": serve_urls[0],
                # the sandbox's OAuth app: its secret signs the dynamic webhooks' JWT
                "JIRAKIT_OAUTH_CLIENT_ID": SANDBOX_CLIENT,
                "JIRAKIT_OAUTH_CLIENT_SECRET": SANDBOX_SECRET,
                "JIRAKIT_WEBHOOK_RETRY_SCHEDULE": "1,2,4,8",
                "JIRAKIT_RATE_LIMIT": "0",
                "JIRAKIT_GOVERNOR": pg_url if options.mode == "governed" else "off",
                "JIRAKIT_GOVERNOR_POINTS": str(options.points),
                "JIRAKIT_GOVERNOR_WINDOW": str(options.window),
                "JIRAKIT_GOVERNOR_MARGIN": str(options.margin),
                "JIRAKIT_GOVERNOR_BURST": str(options.burst),
            }
            for i, t in enumerate(backfills):
                env[f"SCALE_TOKEN_{i}"] = t.token
            queue = open_queue(pg_url)
            queue.migrate()
            dests: dict[str, Path] = {}
            for i, t in enumerate(backfills):
                dests[t.name] = work / f"{t.name}.duckdb"
                target = SyncTarget(
                    t.name,
                    t.api_url,
                    f"duckdb:///{dests[t.name]}",
                    token_env=f"SCALE_TOKEN_{i}",
                    auth="bearer",
                    tenant=t.name,
                    streams=("metadata", "issues"),
                    pipelines_dir=str(work / f"pipelines-{t.name}"),
                )
                queue.add_target(target)
                queue.defer("sync_connection", target=target.as_json())

            log = (logs / f"scale-{options.mode}.log").open("ab")
            stack.callback(log.close)

            def start(role: str, index: int) -> subprocess.Popen[bytes]:
                if role == "serve":
                    port = ports[index]
                    cmd = ["serve", "--host", "127.0.0.1", "--port", str(port)]
                else:
                    cmd = [
                        "worker",
                        "--concurrency",
                        str(options.concurrency),
                        "--heartbeat",
                        "0.5",
                        "--stalled-after",
                        "3",
                    ]
                proc = subprocess.Popen(
                    [sys.executable, "-m", "jirakit", *cmd], env=env, stdout=log, stderr=log
                )
                procs[f"{role}-{index}"] = proc
                return proc

            for i in range(options.serve):
                start("serve", i)
            for i, url in enumerate(serve_urls):
                _wait_http(url, procs[f"serve-{i}"])
            for t in interactive:
                t.hook = _subscribe(serve_urls[0], t, subscriber.url)
            started = time.time()
            for i in range(options.workers):
                start("worker", i)

            # the pool's use per window, sampled
            used: dict[int, int] = {}

            trace: list[tuple[float, ...]] = []

            def sample() -> None:
                gov = (
                    psycopg.connect(pg_url, autocommit=True)
                    if os.environ.get("SCALE_TRACE")
                    else None
                )
                while not stop.is_set():
                    if gov is not None:
                        try:
                            row = gov.execute(
                                "SELECT tokens, server_remaining, server_reset_at, granted "
                                "FROM jirakit.jirakit_budget_pool"
                            ).fetchone()
                            if row:
                                st = quota.states()
                                trace.append((time.time(), *row, st[0].used if st else 0))
                        except psycopg.Error:
                            pass
                    for state in quota.states():
                        w = state.reset_at.timestamp()  # a window by its end
                        used[w] = max(used.get(w, 0), state.used)
                    time.sleep(0.05)

            def interact(t: Tenant, offset: int) -> None:
                own = random.Random(t.name)
                clients = [
                    httpx.Client(
                        base_url=u, headers={"Authorization": f"Bearer {t.key}"}, timeout=120
                    )
                    for u in serve_urls
                ]
                n = offset
                try:
                    while not stop.is_set():
                        http = clients[n % len(clients)]
                        n += 1
                        began = time.perf_counter()
                        task = f"/task/{t.connection}/task/{own.choice(t.ids)}"
                        name = f"{t.name} rename {n}" if n % 5 == 0 else None
                        try:
                            if name is None:
                                answer = http.get(task)
                            else:
                                answer = http.patch(task, json={"name": name})
                                if answer.status_code == 200:
                                    t.renamed.append(name)
                        except httpx.HTTPError as exc:
                            t.errors.append(type(exc).__name__)
                            continue
                        t.latencies.append(time.perf_counter() - began)
                        if os.environ.get("SCALE_TRACE") and t.latencies[-1] > 2:
                            stalls.append((time.time() - t.latencies[-1], t.latencies[-1]))
                        if answer.status_code != 200:
                            t.errors.append(f"{answer.status_code}: {answer.text[:200]}")
                        else:
                            t.waits.append(float(answer.headers.get("x-jirakit-waited", "nan")))
                        stop.wait(own.uniform(0.5, 1.5))
                finally:
                    for c in clients:
                        c.close()

            stalls: list[tuple[float, float]] = []
            threads = [threading.Thread(target=sample, daemon=True)]
            threads += [
                threading.Thread(target=interact, args=(t, i), daemon=True)
                for i, t in enumerate(interactive)
            ]
            for th in threads:
                th.start()

            def sync_jobs() -> list[Any]:
                return [j for j in queue.jobs() if j.task == "sync_connection"]

            first_doing: float | None = None
            half_done: float | None = None
            all_done: float | None = None
            kills: list[float] = []
            next_kill = time.time() + rng.uniform(5, 15)
            deadline = time.time() + options.timeout
            while time.time() < deadline:
                jobs = sync_jobs()
                finished = sum(1 for j in jobs if j.status in ("succeeded", "failed"))
                now = time.time()
                if first_doing is None and any(j.status == "doing" for j in jobs):
                    first_doing = now
                if half_done is None and finished > len(jobs) / 2:
                    half_done = now
                if finished == len(jobs):
                    all_done = now
                    break
                if len(kills) < options.kills and now >= next_kill:
                    if any(j.status == "doing" for j in jobs):
                        victim = f"worker-{rng.randrange(options.workers)}"
                        procs[victim].send_signal(signal.SIGKILL)
                        procs[victim].wait(timeout=10)
                        kills.append(now - started)
                        start("worker", int(victim.split("-")[1]))
                    next_kill = now + rng.uniform(8, 20)
                time.sleep(0.25)
            stop.set()
            for th in threads:
                th.join(timeout=150)
            end = all_done or time.time()
            # the last renames' webhooks: Jira -> serve's receiver -> the workers -> here
            hooks_deadline = time.time() + options.webhook_timeout
            while _webhooks(interactive, subscriber)["missing"] and time.time() < hooks_deadline:
                time.sleep(0.5)
            hooks = _webhooks(interactive, subscriber)
            for state in quota.states():
                w = state.reset_at.timestamp()
                used[w] = max(used.get(w, 0), state.used)
            if os.environ.get("SCALE_TRACE"):
                Path(os.environ["SCALE_TRACE"]).write_text(
                    json.dumps({"trace": trace, "stalls": stalls, "window": options.window})
                )
            jobs = sync_jobs()
            truth = {t.name: _truth(t, dests[t.name]) for t in backfills}
            queue.close()
            rejected = quota.rejected
            granted = unsettled = None
            reasons: list[Any] = []
            if options.mode == "governed":
                with psycopg.connect(pg_url, autocommit=True) as db:
                    row = db.execute(
                        "SELECT granted, unsettled FROM jirakit.jirakit_budget_pool"
                    ).fetchone()
                    if row is not None:
                        granted, unsettled = round(float(row[0])), round(float(row[1]))
                    reasons = db.execute(
                        "SELECT priority, sum(waits), round(sum(waited)::numeric, 1), "
                        "array_agg(DISTINCT reason) FROM jirakit.jirakit_budget_tenant "
                        "GROUP BY priority ORDER BY priority"
                    ).fetchall()
    finally:
        stop.set()
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    # full windows while backfills were pending (at least half of them unfinished)
    w = options.window
    lo = first_doing or started
    hi = half_done or end
    full = [k for k in sorted(used) if k - w >= lo and k <= hi]
    p95s = {t.name: p95(t.waits) for t in interactive}
    return {
        "mode": options.mode,
        "seconds": round(end - started, 1),
        "quota_429": rejected,
        "points_charged": sum(used.values()),
        "points_granted": granted,
        # granted to requests whose answer was never reported (their worker was killed)
        "points_unsettled": unsettled,
        "governor_waits": [[int(r[0]), int(r[1]), float(r[2]), r[3]] for r in reasons],
        "all_windows": [round(used[k] / options.points, 3) for k in sorted(used)],
        "use_per_window": [round(used[k] / options.points, 3) for k in full],
        # over the whole pending period: a request admitted at a window's end is charged
        # in the next one, so single windows read above and below what was spent
        "pool_use_pending": round(sum(used[k] for k in full) / (options.points * len(full)), 3)
        if full
        else 0.0,
        "worst_interactive_p95_wait": round(max(p95s.values()), 3),
        "interactive_p95_waits": {k: round(v, 3) for k, v in p95s.items()},
        "worst_interactive_p95_latency": round(max(p95(t.latencies) for t in interactive), 3),
        "interactive_calls": sum(len(t.waits) for t in interactive),
        "interactive_errors": sum(len(t.errors) for t in interactive),
        "error_samples": [e for t in interactive for e in t.errors][:5],
        "jobs": {j.status: sum(1 for x in jobs if x.status == j.status) for j in jobs},
        "attempts": sum(j.attempts for j in jobs),
        "kills": [round(k, 1) for k in kills],
        "webhooks": hooks,
        "exactly_once": all(
            v["equal"] and v["duplicates"] == 0 and v["rows"] == v["issues"] for v in truth.values()
        ),
        "warehouses": truth,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", choices=("governed", "self-paced", "both"), default="both")
    defaults = Options()
    for key in ("tenants", "issues", "points", "kills", "serve", "workers", "concurrency"):
        parser.add_argument(f"--{key}", type=int, default=getattr(defaults, key))
    for key in ("window", "margin", "burst"):
        parser.add_argument(f"--{key}", type=float, default=getattr(defaults, key))
    parser.add_argument("--json", help="Write the results here too.")
    parser.add_argument("--log-dir", help="Where the processes' output goes (default: a temp dir).")
    args = parser.parse_args()
    modes = ("self-paced", "governed") if args.mode == "both" else (args.mode,)
    rows = []
    for mode in modes:
        opts = Options(
            mode=mode,
            **{
                k: getattr(args, k)
                for k in (
                    "tenants",
                    "issues",
                    "points",
                    "window",
                    "margin",
                    "burst",
                    "kills",
                    "serve",
                    "workers",
                    "concurrency",
                )
            },
            log_dir=args.log_dir,
        )
        rows.append(run(opts))
        print(json.dumps({k: v for k, v in rows[-1].items() if k != "warehouses"}), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    keys = (
        "quota_429",
        "use_per_window",
        "pool_use_pending",
        "worst_interactive_p95_wait",
        "worst_interactive_p95_latency",
        "interactive_calls",
        "interactive_errors",
        "jobs",
        "attempts",
        "kills",
        "exactly_once",
        "webhooks",
        "seconds",
    )
    print(f"{'':<32}" + "".join(f"{r['mode']:>40}" for r in rows))
    for key in keys:
        print(f"{key:<32}" + "".join(f"{json.dumps(r[key]):>40}" for r in rows))


if __name__ == "__main__":
    main()
