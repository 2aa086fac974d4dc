-- sprint_enhanced: one row per sprint, with scope and completion measured from history.
--
-- Membership comes from the sprint field's periods in issue_field_history_scd (an issue
-- with no sprint history counts as in its current sprints since it was created).
-- The sprint window runs from start_at to complete_at (closed sprints; end_at when
-- complete_at is missing) or to now (active sprints). Future sprints (no start_at) get
-- NULL window metrics.
-- committed: in the sprint at start_at. added: in it at some point during the window but
-- not at start_at. removed: in it at some point during the window but not at its end.
-- completed: in it at the window's end and in a done-category status at that moment.
-- Story points are the issues' current story points. velocity = completed story points.
-- Deleted issues are excluded.
-- Sums and averages of floating-point values add in issue order: the same result to
-- the bit however the rows are stored (models are maintained incrementally).
-- depends_on: issue_field_history_scd, issue_enhanced
WITH sprint_windows AS (
    SELECT
        s.id AS sprint_id,
        s.name AS sprint_name,
        s.board_id,
        b.name AS board_name,
        b.project_id,
        s.state,
        s.goal,
        s.start_at,
        s.end_at,
        s.complete_at,
        CASE
            WHEN s.start_at IS NULL THEN CAST(NULL AS TIMESTAMP WITH TIME ZONE)
            WHEN s.complete_at IS NOT NULL THEN s.complete_at
            WHEN s.state = 'closed' AND s.end_at IS NOT NULL THEN s.end_at
            ELSE {{now}}
        END AS window_end
    FROM {{schema}}.sprints AS s
    LEFT JOIN {{schema}}.boards AS b ON b.id = s.board_id
),
periods AS (
    SELECT
        w.sprint_id,
        scd.issue_id,
        scd.valid_from,
        scd.valid_to
    FROM {{schema}}.issue_field_history_scd AS scd
    -- The value lists sprint ids ("12, 15"): split it, then join on the id as text.
    CROSS JOIN LATERAL unnest(string_to_array(replace(scd.value, ' ', ''), ','))
        AS ids(sprint_value)
    JOIN sprint_windows AS w ON CAST(w.sprint_id AS TEXT) = ids.sprint_value
    WHERE scd.field_key = 'sprint'
),
pairs AS (
    SELECT
        p.sprint_id,
        p.issue_id,
        max(CASE WHEN p.valid_from <= w.start_at
                AND (p.valid_to IS NULL OR p.valid_to > w.start_at) THEN 1 ELSE 0 END)
            AS in_at_start,
        max(CASE WHEN p.valid_from <= w.window_end
                AND (p.valid_to IS NULL OR p.valid_to > w.window_end) THEN 1 ELSE 0 END)
            AS in_at_end,
        max(CASE WHEN p.valid_from <= w.window_end
                AND (p.valid_to IS NULL OR p.valid_to > w.start_at) THEN 1 ELSE 0 END)
            AS in_during,
        max(CASE WHEN p.valid_to IS NULL THEN 1 ELSE 0 END) AS in_now
    FROM periods AS p
    JOIN sprint_windows AS w ON w.sprint_id = p.sprint_id
    GROUP BY p.sprint_id, p.issue_id
),
done_at_end AS (
    SELECT DISTINCT pr.sprint_id, pr.issue_id
    FROM pairs AS pr
    JOIN sprint_windows AS w ON w.sprint_id = pr.sprint_id
    JOIN {{schema}}.issue_field_history_scd AS st
        ON st.issue_id = pr.issue_id
        AND st.field_key = 'status'
        AND st.valid_from <= w.window_end
        AND (st.valid_to IS NULL OR st.valid_to > w.window_end)
    JOIN {{schema}}.statuses AS s ON CAST(s.id AS TEXT) = st.value
    WHERE s.category_key = 'done'
),
flags AS (
    SELECT
        pr.sprint_id,
        pr.issue_id,
        coalesce(e.story_points, 0) AS points,
        pr.in_at_start = 1 AS committed,
        pr.in_during = 1 AND pr.in_at_start = 0 AS added,
        pr.in_during = 1 AND pr.in_at_end = 0 AS removed,
        pr.in_at_end = 1 AND d.issue_id IS NOT NULL AS completed,
        pr.in_now = 1 AS current_member
    FROM pairs AS pr
    JOIN {{schema}}.issue_enhanced AS e ON e.issue_id = pr.issue_id
    LEFT JOIN done_at_end AS d ON d.sprint_id = pr.sprint_id AND d.issue_id = pr.issue_id
),
rollup AS (
    SELECT
        f.sprint_id,
        count(*) FILTER (WHERE f.current_member) AS issue_count,
        sum(f.points ORDER BY f.issue_id) FILTER (WHERE f.current_member) AS story_points,
        count(*) FILTER (WHERE f.committed) AS committed_issue_count,
        sum(f.points ORDER BY f.issue_id) FILTER (WHERE f.committed) AS committed_story_points,
        count(*) FILTER (WHERE f.added) AS added_issue_count,
        sum(f.points ORDER BY f.issue_id) FILTER (WHERE f.added) AS added_story_points,
        count(*) FILTER (WHERE f.removed) AS removed_issue_count,
        sum(f.points ORDER BY f.issue_id) FILTER (WHERE f.removed) AS removed_story_points,
        count(*) FILTER (WHERE f.completed) AS completed_issue_count,
        sum(f.points ORDER BY f.issue_id) FILTER (WHERE f.completed) AS completed_story_points
    FROM flags AS f
    GROUP BY f.sprint_id
)
SELECT
    w.sprint_id,
    w.sprint_name,
    w.board_id,
    w.board_name,
    w.project_id,
    w.state,
    w.goal,
    w.start_at,
    w.end_at,
    w.complete_at,
    w.window_end,
    CAST(coalesce(r.issue_count, 0) AS BIGINT) AS issue_count,
    CAST(coalesce(r.story_points, 0) AS DOUBLE PRECISION) AS story_points,
    CASE WHEN w.start_at IS NOT NULL
        THEN CAST(coalesce(r.committed_issue_count, 0) AS BIGINT) END AS committed_issue_count,
    CASE WHEN w.start_at IS NOT NULL
        THEN CAST(coalesce(r.committed_story_points, 0) AS DOUBLE PRECISION) END
        AS committed_story_points,
    CASE WHEN w.start_at IS NOT NULL
        THEN CAST(coalesce(r.added_issue_count, 0) AS BIGINT) END AS added_issue_count,
    CASE WHEN w.start_at IS NOT NULL
        THEN CAST(coalesce(r.added_story_points, 0) AS DOUBLE PRECISION) END
        AS added_story_points,
    CASE WHEN w.start_at IS NOT NULL
        THEN CAST(coalesce(r.removed_issue_count, 0) AS BIGINT) END AS removed_issue_count,
    CASE WHEN w.start_at IS NOT NULL
        THEN CAST(coalesce(r.removed_story_points, 0) AS DOUBLE PRECISION) END
        AS removed_story_points,
    CASE WHEN w.start_at IS NOT NULL
        THEN CAST(coalesce(r.completed_issue_count, 0) AS BIGINT) END AS completed_issue_count,
    CASE WHEN w.start_at IS NOT NULL
        THEN CAST(coalesce(r.completed_story_points, 0) AS DOUBLE PRECISION) END
        AS completed_story_points,
    CASE WHEN w.start_at IS NOT NULL
        THEN CAST(coalesce(r.completed_story_points, 0) AS DOUBLE PRECISION) END AS velocity
FROM sprint_windows AS w
LEFT JOIN rollup AS r ON r.sprint_id = w.sprint_id
