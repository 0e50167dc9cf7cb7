-- grain: one row per linked A&E attendance
-- partitioned by person
SELECT attendance_id, person_key, arrival_date, acuity
FROM landed_ae_attendances
WHERE person_key IS NOT NULL AND arrival_date <= as_of()
