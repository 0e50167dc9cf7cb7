-- grain: one row per person on the GP registrations spine (date of birth from the identifiable store)
-- partitioned by person
SELECT
    r.person_key,
    i.date_of_birth,
    CASE r.sex WHEN 'F' THEN 'Female' ELSE 'Male' END AS sex,
    CASE
        WHEN r.ethnic_category IN ('A', 'B', 'C') THEN 'White'
        WHEN r.ethnic_category IN ('D', 'E', 'F', 'G') THEN 'Mixed'
        WHEN r.ethnic_category IN ('H', 'J', 'K', 'L') THEN 'Asian'
        WHEN r.ethnic_category IN ('M', 'N', 'P') THEN 'Black'
        WHEN r.ethnic_category IN ('R', 'S') THEN 'Other'
        ELSE 'Not known'
    END AS ethnicity,
    r.small_area_code,
    coalesce(g.locality, 'Not known') AS locality,
    coalesce(g.imd_quintile, 3) AS imd_quintile,
    r.practice_code,
    r.practice_name,
    r.registration_date,
    r.deregistration_date
FROM landed_gp_registrations r
JOIN id_linkage i USING (person_key)
LEFT JOIN stg_geography g USING (small_area_code)
