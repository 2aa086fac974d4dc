-- issue_enhanced: one row per non-deleted issue, with its current state and rollups.
--
-- current sprint: among the issue's sprints (issues.sprint_ids, or sprint_issues when
-- sprint_ids is NULL) the active one, else the future one, else the latest closed one
-- (ties: latest start, then highest id).
-- first/last_assigned_at: earliest / latest start of a period with a non-null assignee in
-- issue_field_history_scd (created_at when the issue was created assigned).
-- resolved_at: issues.resolved_at; when missing but the issue is in a done status, the time
-- it entered that status. open_duration_minutes: created_at -> resolved_at, or -> now.
-- comment_count / worklog_*: deleted comments and worklogs excluded.
-- depends_on: issue_field_history_scd, issue_status_transitions
-- incremental: issue_id
WITH live_issues AS (
    -- Named columns only: custom-field columns on issues must not shadow derived ones.
    SELECT
        i.id, i.key, i.project_id, i.project_key, i.issue_type, i.summary, i.status,
        i.status_id, i.status_category, i.priority, i.resolution, i.assignee_id,
        i.reporter_id, i.story_points, i.parent_key, i.created_at, i.updated_at,
        i.resolved_at
    FROM {{schema}}.issues AS i
    WHERE i.is_deleted IS NOT TRUE AND i.id {{in_scope}}
),
membership AS (
    {{sprint_membership}}
),
ranked_sprints AS (
    SELECT
        m.issue_id,
        s.id AS sprint_id,
        s.name AS sprint_name,
        s.state AS sprint_state,
        ROW_NUMBER() OVER (
            PARTITION BY m.issue_id
            ORDER BY
                CASE s.state WHEN 'active' THEN 0 WHEN 'future' THEN 1 ELSE 2 END,
                s.start_at DESC NULLS LAST,
                s.id DESC
        ) AS rank_in_issue,
        COUNT(*) OVER (PARTITION BY m.issue_id) AS sprint_count
    FROM membership AS m
    JOIN {{schema}}.sprints AS s ON s.id = m.sprint_id
),
assignments AS (
    SELECT
        scd.issue_id,
        min(scd.valid_from) AS first_assigned_at,
        max(scd.valid_from) AS last_assigned_at
    FROM {{schema}}.issue_field_history_scd AS scd
    WHERE scd.field_key = 'assignee' AND scd.value IS NOT NULL
    GROUP BY scd.issue_id
),
status_rollup AS (
    SELECT
        t.issue_id,
        count(*) FILTER (WHERE NOT t.is_initial) AS status_change_count,
        count(*) FILTER (WHERE t.is_reopen) AS reopen_count,
        max(t.changed_at) FILTER (WHERE NOT t.is_initial) AS last_status_change_at,
        max(t.changed_at) AS current_status_since
    FROM {{schema}}.issue_status_transitions AS t
    GROUP BY t.issue_id
),
comment_rollup AS (
    SELECT c.issue_id, count(*) AS comment_count
    FROM {{schema}}.comments AS c
    WHERE c.is_deleted IS NOT TRUE
    GROUP BY c.issue_id
),
worklog_rollup AS (
    SELECT
        w.issue_id,
        CAST(sum(coalesce(w.time_spent_seconds, 0)) AS BIGINT) AS worklog_seconds,
        count(*) AS worklog_count
    FROM {{schema}}.worklogs AS w
    WHERE w.is_deleted IS NOT TRUE
    GROUP BY w.issue_id
),
base AS (
    SELECT
        i.id, i.key, i.project_id, i.project_key, i.issue_type, i.summary, i.status,
        i.status_id, i.status_category, i.priority, i.resolution, i.assignee_id,
        i.reporter_id, i.story_points, i.parent_key, i.created_at, i.updated_at,
        coalesce(
            i.resolved_at,
            CASE WHEN i.status_category = 'done' THEN sr.current_status_since END
        ) AS resolved_at_derived,
        sr.status_change_count,
        sr.reopen_count,
        sr.last_status_change_at,
        coalesce(sr.current_status_since, i.created_at) AS current_status_since
    FROM live_issues AS i
    LEFT JOIN status_rollup AS sr ON sr.issue_id = i.id
)
SELECT
    b.id AS issue_id,
    b.key AS issue_key,
    b.project_id,
    b.project_key,
    b.issue_type,
    b.summary,
    b.status,
    b.status_id,
    b.status_category,
    b.priority,
    b.resolution,
    b.assignee_id,
    assignee.display_name AS assignee_name,
    b.reporter_id,
    b.story_points,
    b.parent_key,
    b.created_at,
    b.updated_at,
    b.resolved_at_derived AS resolved_at,
    b.resolved_at_derived IS NOT NULL AS is_resolved,
    rs.sprint_id AS current_sprint_id,
    rs.sprint_name AS current_sprint_name,
    rs.sprint_state AS current_sprint_state,
    CAST(coalesce(rs.sprint_count, 0) AS BIGINT) AS sprint_count,
    a.first_assigned_at,
    a.last_assigned_at,
    CAST(EXTRACT(EPOCH FROM coalesce(b.resolved_at_derived, {{now}})) - EXTRACT(EPOCH FROM b.created_at)
        AS DOUBLE PRECISION) / 60 AS open_duration_minutes,
    CAST(coalesce(cr.comment_count, 0) AS BIGINT) AS comment_count,
    CAST(coalesce(wr.worklog_seconds, 0) AS BIGINT) AS worklog_seconds,
    CAST(coalesce(wr.worklog_count, 0) AS BIGINT) AS worklog_count,
    CAST(coalesce(b.status_change_count, 0) AS BIGINT) AS status_change_count,
    CAST(coalesce(b.reopen_count, 0) AS BIGINT) AS reopen_count,
    b.last_status_change_at,
    b.current_status_since,
    CAST(EXTRACT(EPOCH FROM {{now}}) - EXTRACT(EPOCH FROM b.current_status_since)
        AS DOUBLE PRECISION) / 86400
        AS days_in_current_status
FROM base AS b
LEFT JOIN {{schema}}.users AS assignee ON assignee.id = b.assignee_id
LEFT JOIN ranked_sprints AS rs ON rs.issue_id = b.id AND rs.rank_in_issue = 1
LEFT JOIN assignments AS a ON a.issue_id = b.id
LEFT JOIN comment_rollup AS cr ON cr.issue_id = b.id
LEFT JOIN worklog_rollup AS wr ON wr.issue_id = b.id
