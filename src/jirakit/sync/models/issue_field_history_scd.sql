-- issue_field_history_scd: one row per (issue, field, period) in which a value was in effect.
--
-- Built from issue_field_history. The first change's "from" value is in effect from the
-- issue's created_at (when that is earlier than the first change). For status, assignee,
-- priority and sprint an issue with no history for that field gets one current row, from
-- created_at, with its current value (so every issue has a complete SCD for those fields).
-- field_key: 'sprint' for the sprint field (any gh-sprint custom field, or a field named
-- Sprint), otherwise field_id (or the lower-cased field name when the id is missing, as in
-- Data Center changelogs). valid_to is exclusive; NULL means current.
-- depends_on:
-- incremental: issue_id
WITH live_issues AS (
    SELECT i.id, i.created_at, i.status_id, i.status, i.assignee_id, i.priority
    FROM {{schema}}.issues AS i
    WHERE i.is_deleted IS NOT TRUE AND i.id {{in_scope}}
),
sprint_fields AS (
    SELECT f.id
    FROM {{schema}}.fields AS f
    WHERE f.custom_type = 'com.pyxis.greenhopper.jira:gh-sprint'
),
keyed AS (
    SELECT
        h.issue_id,
        h.history_id,
        h.item_index,
        CASE
            WHEN h.field_id IN (SELECT sf.id FROM sprint_fields AS sf) THEN 'sprint'
            WHEN lower(h.field) = 'sprint' THEN 'sprint'
            ELSE coalesce(h.field_id, lower(h.field))
        END AS field_key,
        h.field_id,
        h.field AS field_name,
        h.from_value,
        h.from_string,
        h.to_value,
        h.to_string,
        h.author_id,
        h.changed_at
    FROM {{schema}}.issue_field_history AS h
    JOIN live_issues AS i ON i.id = h.issue_id
    WHERE h.changed_at IS NOT NULL
),
ordered AS (
    SELECT
        k.*,
        ROW_NUMBER() OVER (
            PARTITION BY k.issue_id, k.field_key
            ORDER BY k.changed_at, k.history_id, k.item_index
        ) AS seq,
        LEAD(k.changed_at) OVER (
            PARTITION BY k.issue_id, k.field_key
            ORDER BY k.changed_at, k.history_id, k.item_index
        ) AS next_changed_at
    FROM keyed AS k
),
initial_values AS (
    SELECT
        o.issue_id,
        o.field_key,
        o.field_id,
        o.field_name,
        o.from_value AS value,
        o.from_string AS value_string,
        i.created_at AS valid_from,
        o.changed_at AS valid_to,
        CAST(NULL AS TEXT) AS changed_by,
        'created' AS source
    FROM ordered AS o
    JOIN live_issues AS i ON i.id = o.issue_id
    WHERE o.seq = 1 AND o.changed_at > i.created_at
),
changes AS (
    SELECT
        o.issue_id,
        o.field_key,
        o.field_id,
        o.field_name,
        o.to_value AS value,
        o.to_string AS value_string,
        o.changed_at AS valid_from,
        o.next_changed_at AS valid_to,
        o.author_id AS changed_by,
        'history' AS source
    FROM ordered AS o
),
membership AS (
    {{sprint_membership}}
),
current_sprints AS (
    SELECT
        m.issue_id,
        string_agg(CAST(m.sprint_id AS TEXT), ', ' ORDER BY m.sprint_id) AS value,
        string_agg(coalesce(s.name, CAST(m.sprint_id AS TEXT)), ', ' ORDER BY m.sprint_id)
            AS value_string
    FROM membership AS m
    LEFT JOIN {{schema}}.sprints AS s ON s.id = m.sprint_id
    GROUP BY m.issue_id
),
current_values AS (
    SELECT i.id AS issue_id, 'status' AS field_key, CAST(i.status_id AS TEXT) AS value,
           i.status AS value_string, i.created_at
    FROM live_issues AS i
    UNION ALL
    SELECT i.id, 'assignee', i.assignee_id, u.display_name, i.created_at
    FROM live_issues AS i
    LEFT JOIN {{schema}}.users AS u ON u.id = i.assignee_id
    UNION ALL
    SELECT i.id, 'priority',
           (SELECT CAST(min(p.id) AS TEXT) FROM {{schema}}.priorities AS p
            WHERE p.name = i.priority),
           i.priority, i.created_at
    FROM live_issues AS i
    UNION ALL
    SELECT i.id, 'sprint', cs.value, cs.value_string, i.created_at
    FROM live_issues AS i
    LEFT JOIN current_sprints AS cs ON cs.issue_id = i.id
),
no_history AS (
    SELECT
        c.issue_id,
        c.field_key,
        CASE WHEN c.field_key = 'sprint'
            THEN (SELECT min(sf.id) FROM sprint_fields AS sf)
            ELSE c.field_key
        END AS field_id,
        CASE WHEN c.field_key = 'sprint' THEN 'Sprint' ELSE c.field_key END AS field_name,
        c.value,
        c.value_string,
        c.created_at AS valid_from,
        CAST(NULL AS TIMESTAMP WITH TIME ZONE) AS valid_to,
        CAST(NULL AS TEXT) AS changed_by,
        'current' AS source
    FROM current_values AS c
    WHERE NOT EXISTS (
        SELECT 1 FROM keyed AS k
        WHERE k.issue_id = c.issue_id AND k.field_key = c.field_key
    )
),
periods AS (
    SELECT * FROM initial_values
    UNION ALL
    SELECT * FROM changes
    UNION ALL
    SELECT * FROM no_history
)
SELECT
    p.issue_id,
    p.field_key,
    p.field_id,
    p.field_name,
    p.value,
    p.value_string,
    p.valid_from,
    p.valid_to,
    p.valid_to IS NULL AS is_current,
    p.changed_by,
    p.source
FROM periods AS p
