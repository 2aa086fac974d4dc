-- daily_issue_field_history: one row per non-deleted issue, per tracked field, per UTC day
-- from the day it was created to "today" (or, when days_after_resolved is set, to its
-- resolution day plus that many days), with the value in effect at the end of that day.
-- Tracked fields are field keys of issue_field_history_scd (default: status, assignee,
-- priority, sprint). value is NULL where nothing is known (e.g. a field never changed).
-- The day rows come from generate_series per SCD period (no range join).
-- depends_on: issue_field_history_scd, issue_enhanced
WITH tracked_fields AS (
    SELECT f.field_key FROM (VALUES {{daily_fields}}) AS f(field_key)
),
spans AS (
    SELECT
        e.issue_id,
        e.issue_key,
        e.project_id,
        CAST(e.created_at AT TIME ZONE 'UTC' AS DATE) AS first_day,
        CASE
            WHEN CAST({{days_after_resolved}} AS INTEGER) IS NULL OR e.resolved_at IS NULL
                THEN {{today}}
            WHEN CAST(e.resolved_at AT TIME ZONE 'UTC' AS DATE)
                    + CAST({{days_after_resolved}} AS INTEGER) < {{today}}
                THEN CAST(e.resolved_at AT TIME ZONE 'UTC' AS DATE)
                    + CAST({{days_after_resolved}} AS INTEGER)
            ELSE {{today}}
        END AS last_day
    FROM {{schema}}.issue_enhanced AS e
),
periods AS (
    -- The days on which each SCD period is the end-of-day value: from the day it starts
    -- to the day before the day it ends (a period ending at 10:00 on day D is not in
    -- effect at the end of D), clipped to the issue's span.
    SELECT
        s.issue_id,
        s.issue_key,
        s.project_id,
        scd.field_key,
        scd.value,
        scd.value_string,
        GREATEST(CAST(scd.valid_from AT TIME ZONE 'UTC' AS DATE), s.first_day) AS from_day,
        CASE
            WHEN scd.valid_to IS NULL THEN s.last_day
            ELSE LEAST(CAST(scd.valid_to AT TIME ZONE 'UTC' AS DATE) - 1, s.last_day)
        END AS to_day
    FROM spans AS s
    JOIN {{schema}}.issue_field_history_scd AS scd ON scd.issue_id = s.issue_id
    JOIN tracked_fields AS t ON t.field_key = scd.field_key
),
known AS (
    SELECT
        CAST(g.d AS DATE) AS date_day,
        p.issue_id,
        p.issue_key,
        p.project_id,
        p.field_key,
        p.value,
        p.value_string
    FROM periods AS p
    CROSS JOIN LATERAL generate_series(
        CAST(p.from_day AS TIMESTAMP), CAST(p.to_day AS TIMESTAMP), INTERVAL '1 day'
    ) AS g(d)
    WHERE p.from_day <= p.to_day
),
unknown AS (
    -- A tracked field without any period for the issue (never set, never changed).
    SELECT
        CAST(g.d AS DATE) AS date_day,
        s.issue_id,
        s.issue_key,
        s.project_id,
        t.field_key,
        CAST(NULL AS TEXT) AS value,
        CAST(NULL AS TEXT) AS value_string
    FROM spans AS s
    CROSS JOIN tracked_fields AS t
    CROSS JOIN LATERAL generate_series(
        CAST(s.first_day AS TIMESTAMP), CAST(s.last_day AS TIMESTAMP), INTERVAL '1 day'
    ) AS g(d)
    WHERE NOT EXISTS (
        SELECT 1 FROM {{schema}}.issue_field_history_scd AS scd
        WHERE scd.issue_id = s.issue_id AND scd.field_key = t.field_key
    )
)
SELECT * FROM known
UNION ALL
SELECT * FROM unknown
