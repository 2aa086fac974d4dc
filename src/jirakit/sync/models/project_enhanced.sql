-- project_enhanced: one row per project: issue counts, close times and recent activity.
-- closed = resolved (issue_enhanced.resolved_at is set); close time = created -> resolved.
-- "last 30 days" is the 30 days before now.
-- Sums and averages of floating-point values add in issue order: the same result to
-- the bit however the rows are stored (models are maintained incrementally).
-- depends_on: issue_enhanced
WITH issue_rollup AS (
    SELECT
        e.project_id,
        count(*) AS issue_count,
        count(*) FILTER (WHERE NOT e.is_resolved) AS open_issue_count,
        count(*) FILTER (WHERE e.is_resolved) AS closed_issue_count,
        avg(e.open_duration_minutes ORDER BY e.issue_id) FILTER (WHERE e.is_resolved) AS avg_close_minutes,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY e.open_duration_minutes)
            FILTER (WHERE e.is_resolved) AS median_close_minutes,
        count(*) FILTER (WHERE e.created_at > {{now}} - INTERVAL '30 days')
            AS created_last_30_days,
        count(*) FILTER (WHERE e.resolved_at > {{now}} - INTERVAL '30 days')
            AS resolved_last_30_days,
        sum(coalesce(e.story_points, 0) ORDER BY e.issue_id) FILTER (WHERE NOT e.is_resolved) AS open_story_points,
        sum(e.worklog_seconds) AS worklog_seconds
    FROM {{schema}}.issue_enhanced AS e
    GROUP BY e.project_id
)
SELECT
    p.id AS project_id,
    p.key AS project_key,
    p.name AS project_name,
    p.project_type,
    p.lead_id,
    CAST(coalesce(r.issue_count, 0) AS BIGINT) AS issue_count,
    CAST(coalesce(r.open_issue_count, 0) AS BIGINT) AS open_issue_count,
    CAST(coalesce(r.closed_issue_count, 0) AS BIGINT) AS closed_issue_count,
    CAST(r.avg_close_minutes AS DOUBLE PRECISION) AS avg_close_minutes,
    CAST(r.median_close_minutes AS DOUBLE PRECISION) AS median_close_minutes,
    CAST(coalesce(r.created_last_30_days, 0) AS BIGINT) AS created_last_30_days,
    CAST(coalesce(r.resolved_last_30_days, 0) AS BIGINT) AS resolved_last_30_days,
    CAST(coalesce(r.open_story_points, 0) AS DOUBLE PRECISION) AS open_story_points,
    CAST(coalesce(r.worklog_seconds, 0) AS BIGINT) AS worklog_seconds
FROM {{schema}}.projects AS p
LEFT JOIN issue_rollup AS r ON r.project_id = p.id
