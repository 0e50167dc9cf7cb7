-- grain: one row per coded GP event (all dates; dimensions as on the first day of the event month, or of the
-- nearest month of the history window for older events)
SELECT
    e.person_key, e.practice_code, e.event_date, e.snomed_code, e.concept,
    d.locality, d.age_band, d.sex, d.ethnicity, d.imd_quintile, d.send_status, d.primary_need
FROM stg_gp_events e
JOIN stg_person_spells d ON d.person_key = e.person_key
               AND dims_month(e.event_date, d.span_first, d.span_last) BETWEEN d.from_month AND d.to_month
WHERE e.concept IS NOT NULL
