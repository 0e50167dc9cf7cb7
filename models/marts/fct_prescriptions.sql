-- grain: one row per person x month x BNF chemical (dimensions as on the first day of the month)
-- sliced by person
SELECT
    r.person_key, r.month, r.bnf_chemical, r.bnf_name, r.items,
    d.locality, d.age_band, d.sex, d.ethnicity, d.imd_quintile, d.send_status, d.primary_need
FROM (SELECT * FROM stg_prescribing WHERE in_slice(person_key)) r
JOIN (SELECT * FROM stg_person_spells WHERE in_slice(person_key)) d ON d.person_key = r.person_key
               AND month_of(r.month) BETWEEN d.match_from AND d.match_to
WHERE r.month >= history_start()
