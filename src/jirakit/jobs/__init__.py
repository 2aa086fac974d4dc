"""Background work as jobs, and the rate-limit budget every process shares.

- `jirakit.jobs.budget`: the governor (one points budget per app, by priority and fair
  share per tenant; in memory or in Postgres).
- `jirakit.jobs.queue`: the job queue (procrastinate on Postgres; in-process on SQLite),
  its task kinds and ``jirakit worker``.
"""
