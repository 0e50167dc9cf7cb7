-- grain: one row per GP practice
SELECT
    practice_code,
    any_value(practice_name) AS practice_name,
    mode(locality) AS locality,
    count(*) FILTER (WHERE person_key IN (SELECT person_key FROM dim_person)) AS n_registered_cyp
FROM stg_persons
GROUP BY practice_code
ORDER BY practice_code
