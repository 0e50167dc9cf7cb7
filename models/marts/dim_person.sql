-- grain: one row per linked child or young person aged 0-25 and registered at as_of (no identifiers)
WITH conditions AS (
    SELECT
        person_key,
        bool_or(concept = 'asthma') AS has_asthma,
        bool_or(concept = 'obesity') AS has_obesity,
        bool_or(concept = 'autism') AS has_autism,
        bool_or(concept = 'adhd') AS has_adhd
    FROM stg_gp_events
    WHERE concept IN ('asthma', 'obesity', 'autism', 'adhd')
    GROUP BY person_key
),
now AS (  -- status on as_of itself (the person-month table holds the first of the month)
    SELECT person_key, max(send_rank(send_status)) AS r, arg_max(primary_need, send_rank(send_status)) AS need
    FROM stg_send_episodes
    WHERE start_date <= as_of() AND (end_date IS NULL OR as_of() < end_date)
    GROUP BY person_key
)
SELECT
    p.person_key,
    p.practice_code,
    p.small_area_code,
    age_at(p.date_of_birth, as_of()) AS age,
    p.locality,
    age_band(age_at(p.date_of_birth, as_of())) AS age_band,
    p.sex,
    p.ethnicity,
    p.imd_quintile,
    send_label(coalesce(now.r, 0)) AS send_status,
    CASE WHEN now.r > 0 THEN now.need ELSE 'None' END AS primary_need,
    coalesce(c.has_asthma, false) AS has_asthma,
    coalesce(c.has_obesity, false) AS has_obesity,
    coalesce(c.has_autism, false) AS has_autism,
    coalesce(c.has_adhd, false) AS has_adhd
FROM stg_persons p
LEFT JOIN now USING (person_key)
LEFT JOIN conditions c USING (person_key)
WHERE p.date_of_birth <= as_of()
  AND age_at(p.date_of_birth, as_of()) <= 25
  AND p.registration_date <= as_of()
  AND (p.deregistration_date IS NULL OR as_of() < p.deregistration_date)
