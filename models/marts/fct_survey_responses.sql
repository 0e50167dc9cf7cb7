-- grain: one row per survey response; comments are redacted at build (portal.redaction, via the
-- redacted_comments table marts.py prepares) and withheld where fewer than 8 responses share the service,
-- locality and quarter (too few to stay anonymous)
SELECT
    s.response_id,
    s.survey_date,
    s.quarter,
    s.service,
    s.locality,
    s.respondent,
    s.score,
    CASE WHEN s.group_size >= 8 THEN r.comment_redacted END AS comment_redacted,
    s.comment IS NOT NULL AND s.group_size < 8 AS comment_withheld,
    CASE WHEN s.comment IS NOT NULL THEN s.comment_theme END AS comment_theme
FROM (
    SELECT *, count(*) OVER (PARTITION BY service, locality, quarter) AS group_size FROM stg_surveys
) s
LEFT JOIN redacted_comments r ON r.comment = s.comment
