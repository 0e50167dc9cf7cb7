-- grain: one row per linked SEND episode (SEN support or EHCP) from the council's register
-- partitioned by person
SELECT
    record_id,
    person_key,
    CASE sen_status WHEN 'E' THEN 'EHCP' ELSE 'SEN support' END AS send_status,
    primary_need,
    start_date,
    end_date,
    plan_id,
    last_review_date,
    review_due_date,
    cease_reason
FROM landed_send_register
WHERE person_key IS NOT NULL AND start_date <= as_of()
