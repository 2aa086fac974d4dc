-- daily_issue_field_history: one row per non-deleted issue, per tracked field, per UTC day
-- from the day it was created to "today" (or, when days_after_resolved is set, to its
-- resolution day plus that many days), with the value in effect at the end of that day.
-- Tracked fields are field keys of issue_field_history_scd (default: status, assignee,
-- priority, sprint). value is NULL where nothing is known (e.g. a field never changed).
-- A view: the days are generated from daily_issue_field_ranges when it is read (a
-- stored table held 14 million rows at 20,000 issues and was most of a sync's modelling).
-- depends_on: daily_issue_field_ranges
-- materialized: view
WITH bounded AS (
    SELECT
        r.issue_id,
        r.issue_key,
        r.project_id,
        r.field_key,
        r.value,
        r.value_string,
        r.from_day,
        CASE
            WHEN r.to_day IS NOT NULL AND r.to_day < r.last_day THEN r.to_day
            ELSE r.last_day
        END AS to_day
    FROM (
        SELECT
            x.*,
            CASE
                WHEN x.until_day IS NOT NULL AND x.until_day < {{today}} THEN x.until_day
                ELSE {{today}}
            END AS last_day
        FROM {{schema}}.daily_issue_field_ranges AS x
    ) AS r
)
SELECT
    CAST(g.d AS DATE) AS date_day,
    b.issue_id,
    b.issue_key,
    b.project_id,
    b.field_key,
    b.value,
    b.value_string
FROM bounded AS b
CROSS JOIN LATERAL generate_series(
    CAST(b.from_day AS TIMESTAMP), CAST(b.to_day AS TIMESTAMP), INTERVAL '1 day'
) AS g(d)
WHERE b.from_day <= b.to_day
