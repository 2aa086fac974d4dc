-- issue_status_transitions: one row per status change of a non-deleted issue, plus one
-- initial row (transition_index 0, is_initial) for the status the issue was created in
-- (the first change's "from", or the current status when the issue never moved).
--
-- minutes_in_from_status: time since the previous transition (or created_at for the first).
-- minutes_in_to_status: time until the next transition, or until "now" for the current one.
-- direction: by status category order new < indeterminate < done: forward, backward or
-- lateral (same category); NULL for the initial row or when a category is unknown.
-- depends_on:
-- incremental: issue_id
WITH live_issues AS (
    SELECT i.id, i.key, i.project_id, i.created_at, i.status_id, i.status
    FROM {{schema}}.issues AS i
    WHERE i.is_deleted IS NOT TRUE AND i.id {{in_scope}}
),
status_lookup AS (
    SELECT
        CAST(s.id AS TEXT) AS status_value,
        s.id AS status_id,
        s.name,
        s.category_key,
        CASE s.category_key
            WHEN 'new' THEN 1
            WHEN 'indeterminate' THEN 2
            WHEN 'done' THEN 3
        END AS category_rank
    FROM {{schema}}.statuses AS s
),
items AS (
    SELECT
        h.issue_id,
        h.from_value,
        h.from_string,
        h.to_value,
        h.to_string,
        h.author_id,
        h.changed_at,
        ROW_NUMBER() OVER (
            PARTITION BY h.issue_id ORDER BY h.changed_at, h.history_id, h.item_index
        ) AS seq,
        LAG(h.changed_at) OVER (
            PARTITION BY h.issue_id ORDER BY h.changed_at, h.history_id, h.item_index
        ) AS prev_changed_at
    FROM {{schema}}.issue_field_history AS h
    JOIN live_issues AS i ON i.id = h.issue_id
    WHERE coalesce(h.field_id, lower(h.field)) = 'status' AND h.changed_at IS NOT NULL
),
initial_rows AS (
    SELECT
        i.id AS issue_id,
        CAST(0 AS BIGINT) AS transition_index,
        CAST(NULL AS TEXT) AS from_value,
        CAST(NULL AS TEXT) AS from_string,
        CASE WHEN f.issue_id IS NULL THEN CAST(i.status_id AS TEXT) ELSE f.from_value END AS to_value,
        CASE WHEN f.issue_id IS NULL THEN i.status ELSE f.from_string END AS to_string,
        CAST(NULL AS TEXT) AS author_id,
        i.created_at AS changed_at,
        CAST(NULL AS TIMESTAMP WITH TIME ZONE) AS previous_at,
        TRUE AS is_initial
    FROM live_issues AS i
    LEFT JOIN items AS f ON f.issue_id = i.id AND f.seq = 1
),
change_rows AS (
    SELECT
        t.issue_id,
        CAST(t.seq AS BIGINT) AS transition_index,
        t.from_value,
        t.from_string,
        t.to_value,
        t.to_string,
        t.author_id,
        t.changed_at,
        coalesce(t.prev_changed_at, i.created_at) AS previous_at,
        FALSE AS is_initial
    FROM items AS t
    JOIN live_issues AS i ON i.id = t.issue_id
),
all_rows AS (
    SELECT * FROM initial_rows
    UNION ALL
    SELECT * FROM change_rows
),
with_next AS (
    SELECT
        r.*,
        LEAD(r.changed_at) OVER (
            PARTITION BY r.issue_id ORDER BY r.transition_index
        ) AS left_at
    FROM all_rows AS r
)
SELECT
    r.issue_id,
    i.key AS issue_key,
    i.project_id,
    r.transition_index,
    r.is_initial,
    fs.status_id AS from_status_id,
    coalesce(r.from_string, fs.name) AS from_status,
    fs.category_key AS from_status_category,
    ts.status_id AS to_status_id,
    coalesce(r.to_string, ts.name) AS to_status,
    ts.category_key AS to_status_category,
    r.changed_at,
    r.left_at,
    r.left_at IS NULL AS is_current,
    CASE WHEN r.is_initial THEN CAST(NULL AS DOUBLE PRECISION)
        ELSE CAST(EXTRACT(EPOCH FROM r.changed_at) - EXTRACT(EPOCH FROM r.previous_at)
            AS DOUBLE PRECISION) / 60
    END AS minutes_in_from_status,
    CAST(EXTRACT(EPOCH FROM coalesce(r.left_at, {{now}})) - EXTRACT(EPOCH FROM r.changed_at)
        AS DOUBLE PRECISION)
        / 60 AS minutes_in_to_status,
    CASE
        WHEN r.is_initial THEN CAST(NULL AS TEXT)
        WHEN fs.category_rank IS NULL OR ts.category_rank IS NULL THEN CAST(NULL AS TEXT)
        WHEN ts.category_rank > fs.category_rank THEN 'forward'
        WHEN ts.category_rank < fs.category_rank THEN 'backward'
        ELSE 'lateral'
    END AS direction,
    coalesce(fs.category_key = 'done' AND ts.category_key <> 'done', FALSE) AS is_reopen,
    r.author_id
FROM with_next AS r
JOIN live_issues AS i ON i.id = r.issue_id
LEFT JOIN status_lookup AS fs ON fs.status_value = r.from_value
LEFT JOIN status_lookup AS ts ON ts.status_value = r.to_value
