-- grain: one row per linked coded GP event, with the portal's concept for the SNOMED CT code
-- partitioned by person
SELECT
    person_key,
    practice_code,
    event_date,
    snomed_code,
    CASE snomed_code
        WHEN '195967001' THEN 'asthma'
        WHEN '394700004' THEN 'asthma_review'
        WHEN '270442000' THEN 'asthma_monitoring'
        WHEN '406506008' THEN 'adhd'
        WHEN '35919005' THEN 'autism'
        WHEN '414916001' THEN 'obesity'
        WHEN '11429006' THEN 'consultation'
    END AS concept
FROM landed_gp_events
WHERE person_key IS NOT NULL AND event_date <= as_of()
