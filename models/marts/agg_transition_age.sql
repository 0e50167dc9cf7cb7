-- grain: one row per year of age (14-25) x send_status x locality x sex; send_status here is the highest
-- SEND status a young person had before their 18th birthday, ages are on the first day of each month
WITH send_group AS (
    SELECT p.person_key,
           send_label(coalesce(max(send_rank(e.send_status))
               FILTER (WHERE e.start_date < least(p.date_of_birth + INTERVAL 18 YEAR, as_of() + INTERVAL 1 DAY)), 0))
               AS send_status
    FROM stg_persons p
    LEFT JOIN stg_send_episodes e USING (person_key)
    GROUP BY p.person_key
),
months AS (
    SELECT d.person_key, d.month, d.age, d.locality, d.sex FROM stg_dims d WHERE d.age BETWEEN 14 AND 25
),
events AS (
    SELECT person_key, CAST(date_trunc('month', event_date) AS DATE) AS month,
           count(*) FILTER (WHERE concept = 'consultation') AS gp_contacts, 0 AS ae_attendances
    FROM stg_gp_events WHERE event_date >= history_start() GROUP BY ALL
    UNION ALL
    SELECT person_key, CAST(date_trunc('month', arrival_date) AS DATE), 0, count(*)
    FROM stg_ae_attendances WHERE arrival_date >= history_start() GROUP BY ALL
)
SELECT
    m.age, g.send_status, m.locality, m.sex,
    round(count(DISTINCT (m.person_key, m.month)) / 12.0, 4) AS person_years,
    CAST(coalesce(sum(e.gp_contacts), 0) AS BIGINT) AS gp_contacts,
    CAST(coalesce(sum(e.ae_attendances), 0) AS BIGINT) AS ae_attendances
FROM months m
JOIN send_group g USING (person_key)
LEFT JOIN events e ON e.person_key = m.person_key AND e.month = m.month
GROUP BY ALL
