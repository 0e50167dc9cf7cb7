-- grain: one row per person x month of the history window in which they were aged 0-25 and registered,
-- with their age and SEND status on the first day of that month (the basis of every monthly dimension)
WITH months AS (
    SELECT CAST(m AS DATE) AS month
    FROM range(history_start(), date_trunc('month', as_of()) + INTERVAL 1 MONTH, INTERVAL 1 MONTH) t(m)
),
person_months AS (
    SELECT p.person_key, m.month, age_at(p.date_of_birth, m.month) AS age
    FROM stg_persons p
    JOIN months m
      ON p.date_of_birth <= m.month
     AND p.registration_date <= m.month
     AND (p.deregistration_date IS NULL OR m.month < p.deregistration_date)
     AND age_at(p.date_of_birth, m.month) <= 25
),
send_months AS (  -- episodes expanded to the months whose first day they cover; highest status wins
    SELECT person_key, CAST(month AS DATE) AS month, max(send_rank(send_status)) AS r,
           arg_max(primary_need, send_rank(send_status)) AS primary_need
    FROM (
        SELECT person_key, send_status, primary_need,
               unnest(range(
                   greatest(CASE WHEN day(start_date) = 1 THEN start_date
                                 ELSE date_trunc('month', start_date) + INTERVAL 1 MONTH END, history_start()),
                   CASE WHEN end_date IS NULL THEN date_trunc('month', as_of()) + INTERVAL 1 MONTH
                        ELSE date_trunc('month', end_date - INTERVAL 1 DAY) + INTERVAL 1 MONTH END,
                   INTERVAL 1 MONTH)) AS month
        FROM stg_send_episodes
    )
    GROUP BY ALL
)
SELECT
    pm.person_key,
    pm.month,
    pm.age,
    age_band(pm.age) AS age_band,
    send_label(coalesce(s.r, 0)) AS send_status,
    CASE WHEN s.r > 0 THEN s.primary_need ELSE 'None' END AS primary_need
FROM person_months pm
LEFT JOIN send_months s USING (person_key, month)
