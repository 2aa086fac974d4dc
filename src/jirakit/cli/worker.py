"""``jirakit worker`` runs background jobs; ``jirakit jobs ...`` manages the queue.

The queue is ``--jobs URL`` or ``JIRAKIT_JOBS_URL``: ``postgresql://...`` (procrastinate,
any number of workers on any machines) or ``sqlite:///path.db`` (one machine).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from jirakit.cli._root import error_line

JobsUrl = Annotated[
    str | None,
    typer.Option(
        "--jobs",
        envvar="JIRAKIT_JOBS_URL",
        help="The queue: postgresql://user@host/db or sqlite:///path.db (default sqlite:///jirakit-jobs.db).",
    ),
]

jobs_app = typer.Typer(
    name="jobs", help="The job queue: migrate, sync targets, defer, list.", no_args_is_help=True
)


def _open(url: str | None) -> Any:
    try:
        from jirakit.jobs.queue import open_queue
    except ImportError as exc:  # procrastinate/psycopg are the jobs extra
        raise error_line(
            f"the job queue needs the jobs extra: pip install 'jirakit[jobs]' ({exc})", 1
        ) from None
    try:
        return open_queue(url)
    except ValueError as exc:
        raise error_line(str(exc), 2) from None
    except Exception as exc:  # an unreachable database, a bad file: one line
        raise error_line(f"cannot open the job queue: {' '.join(str(exc).split())}", 1) from None


def worker(
    jobs: JobsUrl = None,
    concurrency: Annotated[int, typer.Option(help="Jobs run at once.")] = 2,
    until_idle: Annotated[
        bool,
        typer.Option("--until-idle", help="Stop once no job is left (else run until stopped)."),
    ] = False,
    schedule_every: Annotated[
        float,
        typer.Option(help="Seconds between looks for due syncs (SQLite; Postgres: every minute)."),
    ] = 30.0,
    heartbeat: Annotated[float, typer.Option(help="Seconds between heartbeats.")] = 2.0,
    stalled_after: Annotated[
        float, typer.Option(help="A running job whose worker is silent this long is retried.")
    ] = 10.0,
) -> None:
    """Run background jobs until stopped: scheduled syncs, and `jirakit serve`'s work
    (outgoing webhooks, token and dynamic-webhook refreshes, virtual-webhook polls, received
    Jira webhooks) read with the service's settings from this environment (JIRAKIT_DB,
    JIRAKIT_ENCRYPTION_KEYS, JIRAKIT_OAUTH_*)."""
    from jirakit.jobs.queue import WorkerOptions

    try:
        options = WorkerOptions(
            concurrency=concurrency,
            until_idle=until_idle,
            heartbeat=heartbeat,
            stalled_after=stalled_after,
            schedule_every=0.0 if until_idle else schedule_every,
        )
    except ValueError as exc:
        raise error_line(str(exc), 2) from None
    queue = _open(jobs)
    with queue:
        queue.migrate()
        done = queue.run_worker(options)
    typer.echo(f"worker stopped: {done} jobs finished")


@jobs_app.command()
def migrate(jobs: JobsUrl = None) -> None:
    """Create or update the queue's tables (safe to run again; run it before a deploy)."""
    with _open(jobs) as queue:
        queue.migrate()
    typer.echo("job schema up to date")


@jobs_app.command("add-target")
def add_target(
    name: Annotated[str, typer.Argument(help="The target's name (letters, digits, - and _).")],
    url: Annotated[str, typer.Option(help="The Jira site.")],
    dest: Annotated[str, typer.Option(help="The warehouse, as jirakit sync --dest.")],
    email: Annotated[str | None, typer.Option(help="The API token's owner (basic auth).")] = None,
    token_env: Annotated[
        str, typer.Option(help="Environment variable holding the token, in the worker.")
    ] = "JIRA_API_TOKEN",
    auth: Annotated[str, typer.Option(help="basic or bearer.")] = "basic",
    dataset: Annotated[str | None, typer.Option(help="The warehouse dataset.")] = None,
    streams: Annotated[
        str | None, typer.Option(help="metadata,issues,worklogs (default all).")
    ] = None,
    every: Annotated[float, typer.Option(help="Seconds between scheduled syncs (0: none).")] = 0.0,
    pipelines_dir: Annotated[str | None, typer.Option(help="dlt's local cache folder.")] = None,
    jobs: JobsUrl = None,
) -> None:
    """Add (or replace) a sync target: what a scheduled sync reads and where it writes."""
    from jirakit.jobs.tasks import SyncTarget

    try:
        target = SyncTarget(
            name=name,
            url=url,
            dest=dest,
            email=email,
            token_env=token_env,
            auth=auth,
            dataset=dataset,
            streams=tuple(s.strip() for s in streams.split(",")) if streams else (),
            every=every,
            pipelines_dir=pipelines_dir,
        )
    except ValueError as exc:
        raise error_line(str(exc), 2) from None
    with _open(jobs) as queue:
        queue.migrate()
        queue.add_target(target)
    typer.echo(f"target {name} saved")


@jobs_app.command("sync")
def defer_sync(
    name: Annotated[str, typer.Argument(help="A target added with jirakit jobs add-target.")],
    jobs: JobsUrl = None,
) -> None:
    """Queue one sync of a target now (a no-op if one is already waiting)."""
    with _open(jobs) as queue:
        known = {t.name: t for t, _ in queue.targets()}
        if name not in known:
            names = ", ".join(sorted(known)) or "none yet"
            raise error_line(f"no target {name!r} (targets: {names})", 2)
        job = queue.defer("sync_connection", target=known[name].as_json())
    typer.echo(f"job {job} queued" if job is not None else f"a sync of {name} is already queued")


@jobs_app.command("list")
def list_jobs(
    jobs: JobsUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
) -> None:
    """The queue's jobs: id, kind, status, attempts, lock."""
    with _open(jobs) as queue:
        rows = queue.jobs()
    for row in rows:
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "id": row.id,
                        "task": row.task,
                        "status": row.status,
                        "attempts": row.attempts,
                        "lock": row.lock,
                    }
                )
            )
        else:
            typer.echo(
                f"{row.id:>6}  {row.task:<18} {row.status:<10} {row.attempts}  {row.lock or ''}"
            )
