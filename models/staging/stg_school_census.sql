-- grain: one row per linked pupil x academic year; census day is 15 January of the academic year
-- partitioned by person
SELECT
    *,
    make_date(CAST(left(academic_year, 4) AS INTEGER) + 1, 1, 15) AS census_date
FROM landed_school_census
WHERE person_key IS NOT NULL
