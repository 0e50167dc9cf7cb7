-- grain: one row per survey response; comments are redacted at build (portal.redaction, via the
-- redacted_comments table marts.py prepares) and withheld where fewer than 8 responses share the service,
-- locality and quarter (too few to stay anonymous)
-- Newest first, in small row groups: the page's latest 50 comments are then read from the first group,
-- the rest skipped by their dates (national: 16 -> 3.5 ms), and a period filter reads only its groups.
-- row group size: 16384
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
ORDER BY s.survey_date DESC, s.response_id
