-- grain: one row per survey response received by as_of
SELECT
    *,
    CAST(date_trunc('quarter', survey_date) AS DATE) AS quarter
FROM landed_surveys
WHERE survey_date <= as_of()
