-- grain: one row per person x month x BNF chemical (dimensions as on the first day of the month)
SELECT
    r.person_key, r.month, r.bnf_chemical, r.bnf_name, r.items,
    d.locality, d.age_band, d.sex, d.ethnicity, d.imd_quintile, d.send_status, d.primary_need
FROM stg_prescribing r
JOIN stg_person_span span ON span.person_key = r.person_key
JOIN stg_dims d ON d.person_key = r.person_key
               AND d.month = dims_month(r.month, span.first_month, span.last_month)
WHERE r.month >= history_start()
