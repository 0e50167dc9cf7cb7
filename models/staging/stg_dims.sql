-- grain: one row per person x month (as stg_person_month) with every standard dimension; facts join it on
-- materialized: view
-- (person_key, window_month(event date)) so all marts describe people the same way
SELECT
    pm.person_key,
    pm.month,
    pm.age,
    p.practice_code,
    p.small_area_code,
    p.locality,
    pm.age_band,
    p.sex,
    p.ethnicity,
    p.imd_quintile,
    pm.send_status,
    pm.primary_need
FROM stg_person_month pm
JOIN stg_persons p USING (person_key)
