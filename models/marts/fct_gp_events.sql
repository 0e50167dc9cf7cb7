-- grain: one row per coded GP event (all dates; dimensions as on the first day of the event month, or of the
-- nearest month of the history window for older events)
-- sliced by person
SELECT
    e.person_key, e.practice_code, e.event_date, e.snomed_code, e.concept,
    d.locality, d.age_band, d.sex, d.ethnicity, d.imd_quintile, d.send_status, d.primary_need
FROM (SELECT * FROM stg_gp_events WHERE in_slice(person_key)) e
JOIN (SELECT * FROM stg_person_spells WHERE in_slice(person_key)) d ON d.person_key = e.person_key
               AND month_of(e.event_date) BETWEEN d.match_from AND d.match_to
WHERE e.concept IS NOT NULL
