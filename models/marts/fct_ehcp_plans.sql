-- grain: one row per EHCP (dimensions as on the first day of as_of's month for open plans, or of the
-- month the plan ceased)
SELECT
    e.plan_id,
    e.person_key,
    e.start_date,
    e.review_due_date,
    e.last_review_date,
    e.end_date IS NULL AND e.review_due_date < as_of() AS review_overdue,
    e.end_date AS ceased_date,
    e.cease_reason,
    d.locality, d.age_band, d.sex, d.ethnicity, d.imd_quintile,
    'EHCP' AS send_status,
    e.primary_need
FROM stg_send_episodes e
JOIN stg_person_spells d ON d.person_key = e.person_key
               AND month_of(coalesce(e.end_date - INTERVAL 1 DAY, as_of())) BETWEEN d.match_from AND d.match_to
WHERE e.send_status = 'EHCP'
