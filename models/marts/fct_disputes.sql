-- grain: one row per mediation or tribunal case arising from an EHC needs assessment request
WITH cases AS (
    SELECT request_id || '-M' AS case_id, request_id, person_key, 'mediation' AS kind,
           mediation_date AS case_date, mediation_outcome AS outcome
    FROM stg_sen2_casework WHERE mediation_date IS NOT NULL
    UNION ALL
    SELECT request_id || '-T', request_id, person_key, 'tribunal', tribunal_date, tribunal_outcome
    FROM stg_sen2_casework WHERE tribunal_date IS NOT NULL
)
SELECT
    c.case_id, c.request_id, c.person_key, c.kind, c.case_date, c.outcome,
    d.locality, d.age_band, d.sex, d.ethnicity, d.imd_quintile, d.send_status, d.primary_need
FROM cases c
JOIN stg_person_spells d ON d.person_key = c.person_key
               AND month_of(c.case_date) BETWEEN d.match_from AND d.match_to
WHERE c.case_date <= as_of()
