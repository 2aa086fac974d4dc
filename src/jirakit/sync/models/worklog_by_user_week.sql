-- worklog_by_user_week: time logged per author per ISO week (Monday, UTC, of started_at).
-- Deleted worklogs and worklogs on deleted issues are excluded.
-- depends_on: issue_enhanced
SELECT
    w.author_id AS user_id,
    u.display_name,
    CAST(date_trunc('week', w.started_at AT TIME ZONE 'UTC') AS DATE) AS week_start,
    CAST(sum(coalesce(w.time_spent_seconds, 0)) AS BIGINT) AS seconds,
    CAST(count(DISTINCT w.issue_id) AS BIGINT) AS issue_count,
    CAST(count(*) AS BIGINT) AS worklog_count
FROM {{schema}}.worklogs AS w
JOIN {{schema}}.issue_enhanced AS e ON e.issue_id = w.issue_id
LEFT JOIN {{schema}}.users AS u ON u.id = w.author_id
WHERE w.is_deleted IS NOT TRUE AND w.started_at IS NOT NULL
GROUP BY w.author_id, u.display_name, CAST(date_trunc('week', w.started_at AT TIME ZONE 'UTC') AS DATE)
