-- created_vs_resolved_daily: one row per UTC day from the first issue's creation to today:
-- issues created and resolved that day, running totals, and issues open at the day's end.
-- depends_on: issue_enhanced
WITH created AS (
    SELECT CAST(e.created_at AT TIME ZONE 'UTC' AS DATE) AS date_day, count(*) AS n
    FROM {{schema}}.issue_enhanced AS e
    GROUP BY CAST(e.created_at AT TIME ZONE 'UTC' AS DATE)
),
resolved AS (
    SELECT CAST(e.resolved_at AT TIME ZONE 'UTC' AS DATE) AS date_day, count(*) AS n
    FROM {{schema}}.issue_enhanced AS e
    WHERE e.resolved_at IS NOT NULL
    GROUP BY CAST(e.resolved_at AT TIME ZONE 'UTC' AS DATE)
),
bounds AS (
    SELECT CAST(min(c.date_day) AS TIMESTAMP) AS lo, CAST({{today}} AS TIMESTAMP) AS hi
    FROM created AS c
),
spine AS (
    SELECT CAST(g.d AS DATE) AS date_day
    FROM bounds AS b
    CROSS JOIN LATERAL generate_series(b.lo, b.hi, INTERVAL '1 day') AS g(d)
    WHERE b.lo IS NOT NULL
),
daily AS (
    SELECT
        s.date_day,
        CAST(coalesce(c.n, 0) AS BIGINT) AS created,
        CAST(coalesce(r.n, 0) AS BIGINT) AS resolved
    FROM spine AS s
    LEFT JOIN created AS c ON c.date_day = s.date_day
    LEFT JOIN resolved AS r ON r.date_day = s.date_day
)
SELECT
    d.date_day,
    d.created,
    d.resolved,
    CAST(sum(d.created) OVER (ORDER BY d.date_day) AS BIGINT) AS cumulative_created,
    CAST(sum(d.resolved) OVER (ORDER BY d.date_day) AS BIGINT) AS cumulative_resolved,
    CAST(sum(d.created - d.resolved) OVER (ORDER BY d.date_day) AS BIGINT) AS cumulative_open
FROM daily AS d
