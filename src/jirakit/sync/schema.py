"""The warehouse tables jirakit sync loads: names, columns and types, in one place.

This is the contract between extraction (streams) and the analytics models (SQL). Types are
dlt data types: ``text``, ``bigint``, ``double``, ``bool``, ``timestamp`` (always UTC),
``date``, ``json``. Primary keys are marked; every table is merged (upserted) on them.

Custom fields are extra columns on ``issues``, named by `jirakit.sync.naming` (e.g.
``story_points``) and listed in ``fields.column_name``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str
    primary_key: bool = False
    nullable: bool = True


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    description: str = ""

    @property
    def primary_key(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.primary_key)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)


def _t(name: str, description: str, *cols: tuple[str, str] | tuple[str, str, bool]) -> Table:
    columns = tuple(
        Column(
            c[0], c[1], primary_key=len(c) > 2 and bool(c[2]), nullable=not (len(c) > 2 and c[2])
        )
        for c in cols
    )
    return Table(name, columns, description)


PK = True

# What `jirakit sync --streams` can pick (`jirakit.sync.source` reads them).
STREAMS = ("metadata", "issues", "worklogs")

TABLES: dict[str, Table] = {
    t.name: t
    for t in [
        _t(
            "projects",
            "Projects.",
            ("id", "bigint", PK),
            ("key", "text"),
            ("name", "text"),
            ("project_type", "text"),
            ("lead_id", "text"),
            ("category", "text"),
            ("raw", "json"),
        ),
        _t(
            "users",
            "Users (Cloud accountId; Data Center username).",
            ("id", "text", PK),
            ("display_name", "text"),
            ("email", "text"),
            ("active", "bool"),
            ("account_type", "text"),
            ("time_zone", "text"),
            ("raw", "json"),
        ),
        _t(
            "fields",
            "Every field, with the issues column it maps to.",
            ("id", "text", PK),
            ("name", "text"),
            ("column_name", "text"),
            ("custom", "bool"),
            ("type", "text"),
            ("custom_type", "text"),
            ("items", "text"),
            ("raw", "json"),
        ),
        _t(
            "status_categories",
            "new / indeterminate / done.",
            ("id", "bigint", PK),
            ("key", "text"),
            ("name", "text"),
        ),
        _t(
            "statuses",
            "Workflow statuses.",
            ("id", "bigint", PK),
            ("name", "text"),
            ("category_key", "text"),
            ("category_id", "bigint"),
            ("raw", "json"),
        ),
        _t("priorities", "", ("id", "bigint", PK), ("name", "text"), ("raw", "json")),
        _t("resolutions", "", ("id", "bigint", PK), ("name", "text"), ("raw", "json")),
        _t(
            "issue_types",
            "",
            ("id", "bigint", PK),
            ("name", "text"),
            ("subtask", "bool"),
            ("hierarchy_level", "bigint"),
            ("raw", "json"),
        ),
        _t(
            "components",
            "",
            ("id", "bigint", PK),
            ("project_id", "bigint"),
            ("name", "text"),
            ("lead_id", "text"),
            ("raw", "json"),
        ),
        _t(
            "versions",
            "",
            ("id", "bigint", PK),
            ("project_id", "bigint"),
            ("name", "text"),
            ("released", "bool"),
            ("archived", "bool"),
            ("release_date", "date"),
            ("start_date", "date"),
            ("raw", "json"),
        ),
        _t(
            "issues",
            "One row per issue; system fields flattened; custom fields as extra "
            "friendly columns; the raw JSON kept.",
            ("id", "bigint", PK),
            ("key", "text"),
            ("project_id", "bigint"),
            ("project_key", "text"),
            ("issue_type", "text"),
            ("issue_type_id", "bigint"),
            ("status", "text"),
            ("status_id", "bigint"),
            ("status_category", "text"),
            ("priority", "text"),
            ("resolution", "text"),
            ("assignee_id", "text"),
            ("reporter_id", "text"),
            ("creator_id", "text"),
            ("summary", "text"),
            ("description", "text"),
            ("labels", "json"),
            ("components", "json"),
            ("fix_versions", "json"),
            ("affected_versions", "json"),
            ("parent_id", "bigint"),
            ("parent_key", "text"),
            ("sprint_ids", "json"),
            ("story_points", "double"),
            ("created_at", "timestamp"),
            ("updated_at", "timestamp"),
            ("resolved_at", "timestamp"),
            ("due_date", "date"),
            ("time_spent_seconds", "bigint"),
            ("original_estimate_seconds", "bigint"),
            ("remaining_estimate_seconds", "bigint"),
            ("is_deleted", "bool"),
            ("deleted_at", "timestamp"),
            ("raw", "json"),
            ("synced_at", "timestamp"),
        ),
        _t(
            "issue_field_history",
            "Every changelog item.",
            ("issue_id", "bigint", PK),
            ("history_id", "bigint", PK),
            ("item_index", "bigint", PK),
            ("field_id", "text"),
            ("field", "text"),
            ("field_type", "text"),
            ("from_value", "text"),
            ("from_string", "text"),
            ("to_value", "text"),
            ("to_string", "text"),
            ("author_id", "text"),
            ("changed_at", "timestamp"),
        ),
        _t(
            "comments",
            "Comments, body as Markdown.",
            ("id", "bigint", PK),
            ("issue_id", "bigint"),
            ("author_id", "text"),
            ("update_author_id", "text"),
            ("body", "text"),
            ("created_at", "timestamp"),
            ("updated_at", "timestamp"),
            ("is_deleted", "bool"),
        ),
        _t(
            "worklogs",
            "",
            ("id", "bigint", PK),
            ("issue_id", "bigint"),
            ("author_id", "text"),
            ("started_at", "timestamp"),
            ("time_spent_seconds", "bigint"),
            ("comment", "text"),
            ("created_at", "timestamp"),
            ("updated_at", "timestamp"),
            ("is_deleted", "bool"),
            ("deleted_at", "timestamp"),
        ),
        _t(
            "issue_links",
            "",
            ("id", "bigint", PK),
            ("link_type", "text"),
            ("inward", "text"),
            ("outward", "text"),
            ("outward_issue_id", "bigint"),
            ("inward_issue_id", "bigint"),
        ),
        _t(
            "boards",
            "",
            ("id", "bigint", PK),
            ("name", "text"),
            ("type", "text"),
            ("project_id", "bigint"),
            ("raw", "json"),
        ),
        _t(
            "sprints",
            "",
            ("id", "bigint", PK),
            ("board_id", "bigint"),
            ("name", "text"),
            ("state", "text"),
            ("goal", "text"),
            ("start_at", "timestamp"),
            ("end_at", "timestamp"),
            ("complete_at", "timestamp"),
        ),
        _t(
            "sprint_issues",
            "Which issue is in which sprint (from the sprint field).",
            ("sprint_id", "bigint", PK),
            ("issue_id", "bigint", PK),
        ),
        _t(
            "attachments",
            "Attachment metadata.",
            ("id", "bigint", PK),
            ("issue_id", "bigint"),
            ("filename", "text"),
            ("mime_type", "text"),
            ("size", "bigint"),
            ("author_id", "text"),
            ("created_at", "timestamp"),
        ),
        _t(
            "issue_deletions",
            "Issues found deleted by id reconciliation.",
            ("id", "bigint", PK),
            ("deleted_at", "timestamp"),
        ),
        _t(
            "worklog_deletions",
            "Worklogs Jira reports deleted.",
            ("id", "bigint", PK),
            ("deleted_at", "timestamp"),
        ),
        _t(
            "_sync_runs",
            "One row per sync run.",
            ("run_id", "text", PK),
            ("site", "text"),
            ("started_at", "timestamp"),
            ("finished_at", "timestamp"),
            ("status", "text"),
            ("full_refresh", "bool"),
            ("cursor_from", "timestamp"),
            ("cursor_to", "timestamp"),
            ("requests", "bigint"),
            ("rows", "json"),
            ("skipped", "json"),
            ("error", "text"),
            ("rate_limited", "bigint"),
            ("waited_seconds", "double"),
        ),
        _t(
            "_drift_events",
            "Schema drift seen between syncs.",
            ("id", "text", PK),
            ("run_id", "text"),
            ("detected_at", "timestamp"),
            ("kind", "text"),
            ("field_id", "text"),
            ("field_name", "text"),
            ("column_name", "text"),
            ("before", "json"),
            ("after", "json"),
        ),
    ]
}
