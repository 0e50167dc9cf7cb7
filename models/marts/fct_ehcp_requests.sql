-- grain: one row per EHC needs assessment request (SEN2), dimensions as on the first day of the request month
SELECT
    c.request_id,
    c.person_key,
    c.request_date,
    c.decision_date,
    c.decision,
    c.decision_date IS NOT NULL AND date_diff('day', c.request_date, c.decision_date) <= 42 AS decided_within_6_weeks,
    c.assessment_outcome,
    c.plan_issued_date,
    round(date_diff('day', c.request_date, c.plan_issued_date) / 7.0, 2) AS weeks_to_issue,
    CASE WHEN c.plan_issued_date IS NOT NULL THEN date_diff('day', c.request_date, c.plan_issued_date) <= 140 END
        AS issued_within_20_weeks,
    coalesce(c.exception, false) AS exception,
    d.locality, d.age_band, d.sex, d.ethnicity, d.imd_quintile, d.send_status, d.primary_need
FROM stg_sen2_casework c
JOIN stg_person_spells d ON d.person_key = c.person_key
               AND month_of(c.request_date) BETWEEN d.match_from AND d.match_to
