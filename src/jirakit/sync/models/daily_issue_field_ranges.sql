-- daily_issue_field_ranges: what daily_issue_field_history is made of, one row per
-- non-deleted issue, tracked field and period of one value (not per day): the value is
-- the end-of-day value from from_day to to_day (inclusive; NULL: until the issue's last
-- day). until_day is the last day a resolved issue keeps (resolution day plus
-- days_after_resolved; NULL: until today). value is NULL where nothing is known.
-- daily_issue_field_history expands these rows into days up to today, so this table does
-- not change from one day to the next and is maintained per issue.
-- depends_on: issue_field_history_scd, issue_enhanced
-- incremental: issue_id
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
                THEN CAST(NULL AS DATE)
            ELSE CAST(e.resolved_at AT TIME ZONE 'UTC' AS DATE)
                + CAST({{days_after_resolved}} AS INTEGER)
        END AS until_day
    FROM {{schema}}.issue_enhanced AS e
    WHERE e.issue_id {{in_scope}}
),
known AS (
    -- A period ending at 10:00 on day D is not the end-of-day value of D: it covers the
    -- days from the day it starts to the day before the day it ends.
    SELECT
        s.issue_id,
        s.issue_key,
        s.project_id,
        scd.field_key,
        scd.value,
        scd.value_string,
        GREATEST(CAST(scd.valid_from AT TIME ZONE 'UTC' AS DATE), s.first_day) AS from_day,
        CASE
            WHEN scd.valid_to IS NULL THEN CAST(NULL AS DATE)
            ELSE CAST(scd.valid_to AT TIME ZONE 'UTC' AS DATE) - 1
        END AS to_day,
        s.until_day
    FROM spans AS s
    JOIN {{schema}}.issue_field_history_scd AS scd ON scd.issue_id = s.issue_id
    JOIN tracked_fields AS t ON t.field_key = scd.field_key
),
unknown AS (
    -- A tracked field without any period for the issue (never set, never changed).
    SELECT
        s.issue_id,
        s.issue_key,
        s.project_id,
        t.field_key,
        CAST(NULL AS TEXT) AS value,
        CAST(NULL AS TEXT) AS value_string,
        s.first_day AS from_day,
        CAST(NULL AS DATE) AS to_day,
        s.until_day
    FROM spans AS s
    CROSS JOIN tracked_fields AS t
    WHERE NOT EXISTS (
        SELECT 1 FROM {{schema}}.issue_field_history_scd AS scd
        WHERE scd.issue_id = s.issue_id AND scd.field_key = t.field_key
    )
)
SELECT * FROM known AS k
-- Periods shorter than a day (started and ended the same day) have no day of their own.
WHERE k.to_day IS NULL OR k.from_day <= k.to_day
UNION ALL
SELECT * FROM unknown
