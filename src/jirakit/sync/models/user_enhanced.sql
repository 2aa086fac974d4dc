-- user_enhanced: one row per user: current workload and activity.
-- assigned_open_count / resolved_count: issues currently assigned to the user, open /
-- resolved; avg_close_minutes over those resolved ones. worklog_seconds and comment_count:
-- what the user authored (deleted worklogs, comments and issues excluded).
-- Sums and averages of floating-point values add in issue order: the same result to
-- the bit however the rows are stored (models are maintained incrementally).
-- depends_on: issue_enhanced
WITH assigned AS (
    SELECT
        e.assignee_id AS user_id,
        count(*) FILTER (WHERE NOT e.is_resolved) AS assigned_open_count,
        count(*) FILTER (WHERE e.is_resolved) AS resolved_count,
        avg(e.open_duration_minutes ORDER BY e.issue_id) FILTER (WHERE e.is_resolved) AS avg_close_minutes
    FROM {{schema}}.issue_enhanced AS e
    WHERE e.assignee_id IS NOT NULL
    GROUP BY e.assignee_id
),
worked AS (
    SELECT
        w.author_id AS user_id,
        sum(coalesce(w.time_spent_seconds, 0)) AS worklog_seconds,
        count(*) AS worklog_count
    FROM {{schema}}.worklogs AS w
    JOIN {{schema}}.issue_enhanced AS e ON e.issue_id = w.issue_id
    WHERE w.is_deleted IS NOT TRUE
    GROUP BY w.author_id
),
commented AS (
    SELECT c.author_id AS user_id, count(*) AS comment_count
    FROM {{schema}}.comments AS c
    JOIN {{schema}}.issue_enhanced AS e ON e.issue_id = c.issue_id
    WHERE c.is_deleted IS NOT TRUE
    GROUP BY c.author_id
)
SELECT
    u.id AS user_id,
    u.display_name,
    u.email,
    u.active,
    CAST(coalesce(a.assigned_open_count, 0) AS BIGINT) AS assigned_open_count,
    CAST(coalesce(a.resolved_count, 0) AS BIGINT) AS resolved_count,
    CAST(a.avg_close_minutes AS DOUBLE PRECISION) AS avg_close_minutes,
    CAST(coalesce(w.worklog_seconds, 0) AS BIGINT) AS worklog_seconds,
    CAST(coalesce(w.worklog_count, 0) AS BIGINT) AS worklog_count,
    CAST(coalesce(c.comment_count, 0) AS BIGINT) AS comment_count
FROM {{schema}}.users AS u
LEFT JOIN assigned AS a ON a.user_id = u.id
LEFT JOIN worked AS w ON w.user_id = u.id
LEFT JOIN commented AS c ON c.user_id = u.id
