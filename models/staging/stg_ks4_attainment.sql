-- grain: one row per linked pupil at the end of key stage 4
SELECT
    *,
    make_date(CAST(left(academic_year, 4) AS INTEGER) + 1, 1, 15) AS census_date
FROM landed_ks4_attainment
WHERE person_key IS NOT NULL
