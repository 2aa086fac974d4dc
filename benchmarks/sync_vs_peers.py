"""`jirakit sync` against the peers, on one sandbox with the same data.

    .venv/bin/python benchmarks/sync_vs_peers.py                      # 2,000 issues
    .venv/bin/python benchmarks/sync_vs_peers.py --issues 20000 --rate 10 --latency 50-150

One seeded sandbox is served over https (a throwaway CA; peers that only speak https need
it) with per-endpoint rate limits, added latency and the legacy ``/rest/api/3/search``
(Airbyte's source-jira 4.0.0 still calls it). Then, one after another, each tool reads the
issues with their full history, comments and worklogs:

- ``jirakit sync`` into a fresh DuckDB file;
- ``airbyte-source-jira`` (PyPI, its own virtualenv): ``read`` of issues (history
  embedded with ``expand=changelog``), issue_comments and issue_worklogs;
- ``tap-jira`` (PyPI, its own virtualenv): sync of issues, changelogs, issue_comments and
  worklogs;
- a pycontribs-``jira`` script (the project's venv): search, then per issue its changelog,
  comments and worklogs.

For each: wall time, CPU, peak RSS (``wait4`` of the tool's process), requests the sandbox
saw (a counting ASGI layer around the app, so 429s count too) and completeness against the
sandbox's store. Peer virtualenvs live in ``~/.cache/jirakit-bench/`` (``--cache-dir``). A
peer that cannot be installed or run is reported as ``failed: <reason>``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _peers import (
    DEFAULT_CACHE,
    Captured,
    CountingApp,
    PeerFailed,
    airbyte_catalog,
    count_airbyte,
    count_singer,
    ensure_venv,
    install_ca_shim,
    run_measured,
    select_singer_catalog,
    tail,
)

from jirakit.sandbox import Sandbox
from jirakit.sandbox.serve import serve_in_thread
from jirakit.sandbox.tls import make_self_signed

EMAIL, TOKEN = "admin@example.com", "sandbox-token"
TOOLS = ("jirakit", "airbyte", "tap-jira", "pycontribs")
AIRBYTE_REQ = "airbyte-source-jira==4.0.0"
TAP_REQ = "tap-jira"
ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


# -- the sandbox (`_peers.CountingApp` counts what reaches it) --------------------------


def add_long_histories(sandbox: Sandbox, issues: int, edits: int) -> None:
    """Give ``issues`` issues (spread over the site) ``edits`` more changelog entries each,
    through the REST API of an unthrottled in-process twin over the same store: the long
    tail real sites have, and what an embedded ``expand=changelog`` (last 100) misses."""
    import httpx

    from jirakit.testing.asgi import SyncASGITransport

    if issues <= 0 or edits <= 0:
        return
    twin = Sandbox(store=sandbox.store, legacy_search=True)
    keys = [r.key for r in sorted(sandbox.store.issues.values(), key=lambda r: r.id)]
    step = max(1, len(keys) // issues)
    with httpx.Client(
        transport=SyncASGITransport(twin.app), base_url="http://sandbox.local", auth=twin.auth
    ) as http:
        for key in keys[::step][:issues]:
            for i in range(edits):
                body = {"fields": {"summary": f"{key} revision {i + 1}"}}
                http.put(f"/rest/api/3/issue/{key}", json=body).raise_for_status()


@dataclass
class Truth:
    issues: int
    histories: int
    history_items: int
    comments: int
    worklogs: int
    max_histories: int
    lower_bound: dict[str, int]

    @classmethod
    def of(cls, sandbox: Sandbox) -> Truth:
        recs = sorted(sandbox.store.issues.values(), key=lambda r: r.id)
        n = len(recs)
        hist = [len(r.histories) for r in recs]
        worklogs = sum(len(r.worklogs) for r in recs)
        # changelog/bulkfetch: 1000 issues a request, at most 10,000 histories a page.
        changelog_pages = sum(
            max(1, math.ceil(sum(hist[i : i + 1000]) / 10_000)) for i in range(0, n, 1000)
        )
        bound = {
            "search/jql ids (5,000/page)": max(1, math.ceil(n / 5000)),
            "issue/bulkfetch (100/request)": math.ceil(n / 100),
            "changelog/bulkfetch pages": changelog_pages,
            "worklog/updated pages (1,000/page)": max(1, math.ceil(worklogs / 1000)),
            "worklog/list (1,000/request)": math.ceil(worklogs / 1000),
        }
        return cls(
            issues=n,
            histories=sum(hist),
            history_items=sum(len(h.items) for r in recs for h in r.histories),
            comments=sum(len(r.comments) for r in recs),
            worklogs=worklogs,
            max_histories=max(hist, default=0),
            lower_bound=bound,
        )


# -- results -----------------------------------------------------------------------------


@dataclass
class Result:
    tool: str
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    max_rss_mib: float = 0.0
    issues: int = 0
    history_items: int = 0
    comments: int = 0
    worklogs: int = 0
    capped: int = 0
    requests: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    @property
    def throttled(self) -> int:
        return sum(n for (_, _, status), n in self.requests.items() if status == 429)

    def take(self, got: Captured) -> None:
        self.issues, self.history_items = len(got.issues), got.history_items
        self.comments, self.worklogs, self.capped = len(got.comments), len(got.worklogs), got.capped


@dataclass
class Context:
    base_url: str
    port: int
    ca: Path
    work: Path
    cache: Path
    timeout: float
    env: dict[str, str]
    counter: CountingApp
    num_workers: int | None


def _measure(ctx: Context, result: Result, name: str, cmd: list[str], **kw: Any) -> Path:
    out, err = ctx.work / f"{name}.out", ctx.work / f"{name}.err"
    ctx.counter.take()  # anything before (installs, discovery) is not this run's
    m = run_measured(cmd, stdout=out, stderr=err, env=ctx.env, timeout=ctx.timeout, **kw)
    result.requests = ctx.counter.take()
    result.seconds, result.cpu_seconds, result.max_rss_mib = (
        m.seconds,
        m.cpu_seconds,
        m.max_rss_mib,
    )
    if m.timed_out:
        raise PeerFailed(f"timed out after {ctx.timeout:.0f}s")
    if m.returncode != 0:
        raise PeerFailed(f"exit {m.returncode}: {tail(err) or tail(out)}")
    return out


# -- the tools ---------------------------------------------------------------------------


def jirakit_cmd(ctx: Context) -> list[str]:
    db = ctx.work / "jirakit.duckdb"
    return [
        str(VENV_BIN / "jirakit"),
        "sync",
        "--url",
        ctx.base_url,
        "--email",
        EMAIL,
        "--token",
        TOKEN,
        "--dest",
        f"duckdb:///{db}",
        "--pipelines-dir",
        str(ctx.work / "jirakit-pipelines"),
    ]


def run_jirakit(ctx: Context, result: Result) -> None:
    import duckdb

    db = ctx.work / "jirakit.duckdb"
    _measure(ctx, result, "jirakit", jirakit_cmd(ctx), cwd=ctx.work)
    conn = duckdb.connect(str(db), read_only=True)
    try:

        def count(sql: str) -> int:
            return int(conn.sql(sql).fetchone()[0])  # type: ignore[index]

        result.issues = count("select count(*) from issues where not is_deleted")
        result.history_items = count("select count(*) from issue_field_history")
        result.comments = count("select count(*) from comments where not is_deleted")
        result.worklogs = count("select count(*) from worklogs where not is_deleted")
    finally:
        conn.close()
    result.notes.append(dlt_steps(ctx.work / "jirakit-pipelines", result.seconds))


def dlt_steps(pipelines_dir: Path, seconds: float) -> str:
    """Where jirakit's time went, from dlt's trace of the run: extract is the reading of
    Jira (every HTTP request); normalize + load write DuckDB; the rest is start-up,
    post-load fix-ups and the analytics models."""
    import dlt

    try:
        # The sync's pipeline is named after (site, destination, dataset); its failed-run
        # recorder is the same name + "_runs".
        (name,) = [p.name for p in pipelines_dir.iterdir() if not p.name.endswith("_runs")]
        trace = dlt.pipeline(pipeline_name=name, pipelines_dir=str(pipelines_dir)).last_trace
        steps = {s.step: (s.finished_at - s.started_at).total_seconds() for s in trace.steps}
    except Exception as exc:  # the trace is a nicety
        return f"no dlt trace ({type(exc).__name__})"
    parts = ", ".join(
        f"{k} {steps[k]:.1f}s" for k in ("extract", "normalize", "load") if k in steps
    )
    rest = seconds - steps.get("run", 0.0)
    return f"dlt steps: {parts}; outside dlt's run (start-up, fix-ups, models): {rest:.1f}s"


def edit_issues(sandbox: Sandbox, count: int, tag: str) -> None:
    """Edit the summary of ``count`` issues spread over the site, through an unthrottled
    in-process twin over the same store (the edits are not the benchmark)."""
    import httpx

    from jirakit.testing.asgi import SyncASGITransport

    twin = Sandbox(store=sandbox.store, legacy_search=True)
    keys = [r.key for r in sorted(sandbox.store.issues.values(), key=lambda r: r.id)]
    step = max(1, len(keys) // max(1, count))
    with httpx.Client(
        transport=SyncASGITransport(twin.app), base_url="http://sandbox.local", auth=twin.auth
    ) as http:
        for key in keys[::step][:count]:
            body = {"fields": {"summary": f"{key} {tag}"}}
            http.put(f"/rest/api/3/issue/{key}", json=body).raise_for_status()


def run_jirakit_incremental(
    ctx: Context, sandbox: Sandbox, changed: int, tag: str, result: Result
) -> None:
    """``jirakit sync`` again into the warehouse of the full run, after ``changed`` edits
    (0: nothing changed); checks that every edit arrived."""
    import duckdb

    if changed:
        edit_issues(sandbox, changed, tag)
    _measure(ctx, result, f"jirakit-{changed}", jirakit_cmd(ctx), cwd=ctx.work)
    conn = duckdb.connect(str(ctx.work / "jirakit.duckdb"), read_only=True)
    try:
        row = conn.sql(f"select count(*) from issues where summary like '% {tag}'").fetchone()
        seen = int(row[0]) if row else 0
        result.issues = int(
            conn.sql("select count(*) from issues where not is_deleted").fetchone()[0]
        )  # type: ignore[index]
    finally:
        conn.close()
    if changed:
        result.notes.append(f"{seen:,} of {changed:,} edited issues carry their edit")


def floor_seconds(r: Result, rate: float) -> tuple[float, str]:
    """The rate-limit floor of the requests ``r`` made: the busiest endpoint bucket's
    successful requests / the bucket's rate (every bucket refills independently)."""
    by: Counter[tuple[str, str]] = Counter()
    for (method, path, status), n in r.requests.items():
        if status != 429:
            by[(method, path)] += n
    if not by or rate <= 0:
        return 0.0, "no rate limit"
    (method, path), n = by.most_common(1)[0]
    return n / rate, f"{n:,} x {method} {path} / {rate:g} per s"


def run_airbyte(ctx: Context, result: Result) -> None:
    bin_dir = ensure_venv(ctx.cache, "airbyte-source-jira", AIRBYTE_REQ)
    install_ca_shim(bin_dir)
    exe = str(bin_dir / "source-jira")
    config: dict[str, Any] = {
        "api_token": TOKEN,
        "email": EMAIL,
        "domain": f"127.0.0.1:{ctx.port}",  # the connector prepends https://
    }
    if ctx.num_workers:
        config["num_workers"] = ctx.num_workers
    config_path = ctx.work / "airbyte-config.json"
    config_path.write_text(json.dumps(config))
    disc_out, disc_err = ctx.work / "airbyte-discover.out", ctx.work / "airbyte-discover.err"
    m = run_measured(
        [exe, "discover", "--config", str(config_path)],
        stdout=disc_out,
        stderr=disc_err,
        env=ctx.env,
        timeout=600,
    )
    catalog = None
    for line in disc_out.read_text(errors="replace").splitlines():
        if line.startswith("{") and '"CATALOG"' in line:
            catalog = json.loads(line)["catalog"]
    if m.returncode != 0 or catalog is None:
        raise PeerFailed(f"discover failed: {tail(disc_err) or tail(disc_out)}")
    streams = ("issues", "issue_comments", "issue_worklogs")
    configured = airbyte_catalog(catalog, streams)
    found = {s["stream"]["name"] for s in configured["streams"]}
    if found != set(streams):
        raise PeerFailed(f"streams missing from the catalog: {sorted(set(streams) - found)}")
    if "issue_changelogs" not in {s["name"] for s in catalog["streams"]}:
        result.notes.append("no changelog stream: history only as issues.changelog (embedded)")
    catalog_path = ctx.work / "airbyte-catalog.json"
    catalog_path.write_text(json.dumps(configured))
    cmd = [exe, "read", "--config", str(config_path), "--catalog", str(catalog_path)]
    out = _measure(ctx, result, "airbyte", cmd, cwd=ctx.work)
    got = count_airbyte(out)
    result.take(got)
    errors = [
        line
        for line in out.read_text(errors="replace").splitlines()
        if '"TRACE"' in line and '"ERROR"' in line
    ]
    if errors:
        result.notes.append(f"{len(errors)} error trace(s): {errors[0][:300]}")


def run_tap_jira(ctx: Context, result: Result) -> None:
    bin_dir = ensure_venv(ctx.cache, "tap-jira", TAP_REQ)
    install_ca_shim(bin_dir)
    exe = str(bin_dir / "tap-jira")
    config = {
        "base_url": f"https://127.0.0.1:{ctx.port}",
        "username": EMAIL,
        "password": TOKEN,
        "start_date": "2000-01-01T00:00:00Z",
        "user_agent": "jirakit-benchmark",
    }
    config_path = ctx.work / "tap-config.json"
    config_path.write_text(json.dumps(config))
    disc_out, disc_err = ctx.work / "tap-discover.out", ctx.work / "tap-discover.err"
    m = run_measured(
        [exe, "--config", str(config_path), "--discover"],
        stdout=disc_out,
        stderr=disc_err,
        env=ctx.env,
        timeout=600,
    )
    if m.returncode != 0:
        raise PeerFailed(f"discover failed: {tail(disc_err)}")
    streams = ("issues", "changelogs", "issue_comments", "worklogs")
    catalog = select_singer_catalog(json.loads(disc_out.read_text()), streams)
    catalog_path = ctx.work / "tap-catalog.json"
    catalog_path.write_text(json.dumps(catalog))
    cmd = [exe, "--config", str(config_path), "--properties", str(catalog_path)]
    out = _measure(ctx, result, "tap-jira", cmd, cwd=ctx.work)
    result.take(count_singer(out))


def run_pycontribs(ctx: Context, result: Result) -> None:
    summary = ctx.work / "pycontribs.json"
    script = str(Path(__file__).resolve().parent / "_peers.py")
    cmd = [sys.executable, script, "pycontribs", ctx.base_url, EMAIL, TOKEN, str(summary)]
    _measure(ctx, result, "pycontribs", cmd, cwd=ctx.work)
    data = json.loads(summary.read_text())
    result.issues, result.history_items = data["issues"], data["history_items"]
    result.comments, result.worklogs, result.capped = (
        data["comments"],
        data["worklogs"],
        data["capped"],
    )


RUNNERS: dict[str, tuple[str, Callable[[Context, Result], None]]] = {
    "jirakit": ("jirakit sync", run_jirakit),
    "airbyte": ("airbyte-source-jira 4.0.0", run_airbyte),
    "tap-jira": ("tap-jira (Singer)", run_tap_jira),
    "pycontribs": ("pycontribs jira script", run_pycontribs),
}


# -- report ------------------------------------------------------------------------------


def pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "n/a"


def table(results: list[Result], truth: Truth) -> str:
    head = (
        "| tool | wall s | CPU s | peak RSS MiB | requests (429s) | issues | history items "
        "| comments | worklogs |"
    )
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        if r.error:
            lines.append(f"| {r.tool} | failed: {r.error} | | | | | | | |")
            continue
        lines.append(
            f"| {r.tool} | {r.seconds:,.1f} | {r.cpu_seconds:,.1f} | {r.max_rss_mib:,.0f} "
            f"| {r.total_requests:,} ({r.throttled:,}) "
            f"| {pct(r.issues, truth.issues)} | {pct(r.history_items, truth.history_items)} "
            f"| {pct(r.comments, truth.comments)} | {pct(r.worklogs, truth.worklogs)} |"
        )
    return "\n".join(lines)


def endpoint_breakdown(r: Result) -> str:
    by: Counter[str] = Counter()
    for (method, path, status), n in r.requests.items():
        key = f"{method} {path}" + (" [429]" if status == 429 else "")
        by[key] += n
    return "\n".join(f"    {n:>8,}  {k}" for k, n in by.most_common(12))


EXTRACTION = ("/search/jql", "/issue/bulkfetch", "/changelog/bulkfetch", "/worklog/")


def report(results: list[Result], truth: Truth, args: argparse.Namespace) -> None:
    print()
    print(
        f"Sandbox: {truth.issues:,} issues, {truth.histories:,} change histories holding "
        f"{truth.history_items:,} items ({truth.history_items / max(1, truth.issues):.1f} "
        f"per issue, at most {truth.max_histories} histories on one issue), "
        f"{truth.comments:,} comments ({truth.comments / max(1, truth.issues):.2f}/issue), "
        f"{truth.worklogs:,} worklogs ({truth.worklogs / max(1, truth.issues):.2f}/issue); "
        f"rate limit {args.rate:g} req/s per endpoint bucket, latency {args.latency} ms."
    )
    print()
    print(table(results, truth))
    print()
    for r in results:
        if r.error:
            continue
        print(f"{r.tool}: {r.total_requests:,} requests")
        print(endpoint_breakdown(r))
        if r.capped:
            print(f"    {r.capped:,} issue(s) with a truncated embedded changelog")
        for note in r.notes:
            print(f"    note: {note}")
    for r in results:
        if r.error or not r.tool.startswith("jirakit"):
            continue
        floor, why = floor_seconds(r, args.rate)
        ratio = f" = {r.seconds / floor:.2f}x the floor" if floor else ""
        print(f"{r.tool}: wall {r.seconds:,.1f}s, floor {floor:,.1f}s ({why}){ratio}")
    jk = next((r for r in results if r.tool == RUNNERS["jirakit"][0] and not r.error), None)
    if jk is None:
        return
    bound = sum(truth.lower_bound.values())
    extraction = sum(
        n
        for (method, path, status), n in jk.requests.items()
        if status != 429 and any(path.endswith(p) or p in path for p in EXTRACTION)
    )
    print()
    print("jirakit requests against the lower bound:")
    for name, n in truth.lower_bound.items():
        print(f"    {n:>8,}  {name}")
    print(f"    {bound:>8,}  lower bound")
    print(
        f"    jirakit: {jk.total_requests:,} requests in all = {jk.total_requests / bound:.2f}x "
        f"the bound; {extraction:,} on the extraction endpoints above = "
        f"{extraction / bound:.2f}x (target <= 1.25x); the rest is site metadata "
        f"(fields, projects, statuses, users ...) and 429s ({jk.throttled:,})"
    )
    others = [r for r in results if not r.error and not r.tool.startswith("jirakit")]
    complete = [r for r in others if r.history_items >= truth.history_items]
    peers = others
    if peers:
        best = min(peers, key=lambda r: r.seconds)
        print(
            f"    fastest peer: {best.tool}, {best.seconds:,.1f}s; {speedup(best, jk)} "
            f"(target >= 10x faster); history captured: jirakit "
            f"{pct(jk.history_items, truth.history_items)}, {best.tool} "
            f"{pct(best.history_items, truth.history_items)}"
        )
        if complete:
            best_c = min(complete, key=lambda r: r.seconds)
            print(f"    fastest peer with 100% of history: {best_c.tool}; {speedup(best_c, jk)}")
        else:
            print("    no peer captured 100% of history")


def speedup(peer: Result, jk: Result) -> str:
    ratio = peer.seconds / jk.seconds
    if ratio >= 1:
        return f"jirakit is {ratio:.1f}x faster"
    return f"jirakit takes {1 / ratio:.1f}x as long"


# -- main --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issues", type=int, default=2000)
    parser.add_argument("--projects", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--rate", type=float, default=10.0, help="req/s per endpoint bucket (0: unlimited)"
    )
    parser.add_argument(
        "--latency", default="50-150", help="MIN_MS-MAX_MS added per request ('': none)"
    )
    parser.add_argument(
        "--tools", default=",".join(TOOLS), help=f"comma-separated subset of {','.join(TOOLS)}"
    )
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per tool")
    parser.add_argument(
        "--airbyte-workers", type=int, default=None, help="source-jira num_workers (default 5)"
    )
    parser.add_argument(
        "--long-history",
        type=int,
        default=None,
        help="issues given --long-history-edits extra changelog entries (default 1%% of --issues)",
    )
    parser.add_argument("--long-history-edits", type=int, default=120)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--incremental",
        action="store_true",
        help="after jirakit's full run, sync again after 1%% of issues changed, then with "
        "nothing changed",
    )
    args = parser.parse_args()
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = set(tools) - set(TOOLS)
    if unknown:
        parser.error(f"unknown tools {sorted(unknown)}")

    work = Path(tempfile.mkdtemp(prefix="jirakit-sync-vs-peers-"))
    print(f"work directory: {work}")
    t0 = time.perf_counter()
    sandbox = Sandbox(
        seed=args.seed,
        issues=args.issues,
        projects=args.projects,
        legacy_search=True,
        rate_limit=args.rate or None,  # --rate 0: no rate limit
        latency=args.latency or None,  # --latency "": none added
    )
    long_history = args.issues // 100 if args.long_history is None else args.long_history
    add_long_histories(sandbox, long_history, args.long_history_edits)
    truth = Truth.of(sandbox)
    print(
        f"sandbox generated in {time.perf_counter() - t0:.1f}s "
        f"({long_history} issues given {args.long_history_edits} extra edits each)"
    )
    tls = make_self_signed(work / "tls")
    counter = CountingApp(sandbox.app)
    env = {
        **os.environ,
        "REQUESTS_CA_BUNDLE": str(tls.ca),
        "SSL_CERT_FILE": str(tls.ca),
        "JIRAKIT_BENCH_CA": str(tls.ca),
        "NO_PROXY": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
    }
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        env.pop(var, None)
    results: list[Result] = []
    try:
        with serve_in_thread(counter, tls=tls) as base_url:
            port = int(base_url.rsplit(":", 1)[1])
            print(f"sandbox at {base_url} (CA {tls.ca})")
            ctx = Context(
                base_url=base_url,
                port=port,
                ca=tls.ca,
                work=work,
                cache=args.cache_dir.resolve(),  # the peers run in the work directory
                timeout=args.timeout,
                env=env,
                counter=counter,
                num_workers=args.airbyte_workers,
            )
            for tool in tools:
                label, runner = RUNNERS[tool]
                result = Result(label)
                print(f"running {label} ...", flush=True)
                try:
                    runner(ctx, result)
                except PeerFailed as exc:
                    result.error = str(exc)
                except Exception as exc:  # a benchmark reports, it does not stop
                    result.error = f"{type(exc).__name__}: {exc}"
                status = f"failed: {result.error}" if result.error else "done"
                print(f"  {label}: {status} in {result.seconds:,.1f}s", flush=True)
                results.append(result)
                if tool == "jirakit" and args.incremental and not result.error:
                    for changed, title in (
                        (args.issues // 100, "1% changed"),
                        (0, "nothing changed"),
                    ):
                        again = Result(f"jirakit, {title}")
                        print(f"running {again.tool} ...", flush=True)
                        try:
                            run_jirakit_incremental(
                                ctx, sandbox, changed, "incremental-edit", again
                            )
                        except Exception as exc:
                            again.error = f"{type(exc).__name__}: {exc}"
                        print(f"  {again.tool}: {again.error or 'done'} in {again.seconds:,.1f}s")
                        results.append(again)
    finally:
        report(results, truth, args)
        if args.keep:
            print(f"\nkept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
