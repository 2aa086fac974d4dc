"""Warehouse sync: Jira into DuckDB, Postgres or any dlt destination."""
