"""docs/operations.md's Dagster asset, materialized against a served sandbox."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from jirakit.sandbox import Sandbox
from needs import require_module

dg = require_module("dagster")  # in the dev extra: a failure in CI, a skip locally


def test_the_dagster_asset_of_the_operations_guide(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import dlt

    from jirakit import BasicAuth, Jira
    from jirakit.sync import SyncOptions, jira_source, post_load

    @dg.asset(retry_policy=dg.RetryPolicy(max_retries=3, delay=1))
    def jira_issues(context) -> dg.MaterializeResult:  # type: ignore[no-untyped-def]
        with Jira(
            dg.EnvVar("JIRA_URL").get_value(),
            auth=BasicAuth(
                dg.EnvVar("JIRA_EMAIL").get_value(), dg.EnvVar("JIRA_API_TOKEN").get_value()
            ),
        ) as jira:
            pipeline = dlt.pipeline(
                pipeline_name="jira_acme",
                destination=dlt.destinations.duckdb(str(tmp_path / "dagster.duckdb")),
                dataset_name="jira",
                pipelines_dir=str(tmp_path / "pipelines"),
            )
            info = pipeline.run(jira_source(jira, SyncOptions(streams=("metadata", "issues"))))
            post_load(pipeline, info.loads_ids[-1])
        return dg.MaterializeResult(metadata={"loads": len(info.loads_ids)})

    site = Sandbox(seed=2, issues=30)
    with site.serve() as url:
        monkeypatch.setenv("JIRA_URL", url)
        monkeypatch.setenv("JIRA_EMAIL", site.admin_email)
        monkeypatch.setenv("JIRA_API_TOKEN", site.api_token)
        result = dg.materialize([jira_issues], instance=dg.DagsterInstance.ephemeral())
    site.close()
    assert result.success
    con = duckdb.connect(str(tmp_path / "dagster.duckdb"), read_only=True)
    try:
        count = con.sql("select count(*) from jira.issues").fetchone()
    finally:
        con.close()
    assert count == (30,)
