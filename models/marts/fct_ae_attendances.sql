-- grain: one row per A&E attendance (dimensions as on the first day of the arrival month)
-- sliced by person
SELECT
    a.attendance_id, a.person_key, a.arrival_date,
    CAST(date_trunc('month', a.arrival_date) AS DATE) AS month,
    a.acuity,
    d.locality, d.age_band, d.sex, d.ethnicity, d.imd_quintile, d.send_status, d.primary_need
FROM (SELECT * FROM stg_ae_attendances WHERE in_slice(person_key)) a
JOIN (SELECT * FROM stg_person_spells WHERE in_slice(person_key)) d ON d.person_key = a.person_key
               AND date_trunc('month', a.arrival_date) BETWEEN d.from_month AND d.to_month
WHERE a.arrival_date >= history_start()
