-- grain: one row per person x spell at ages 14-25, with the highest SEND status the person had before their
-- 18th birthday and their GP contacts and A&E attendances in the spell's months
-- sliced by person
WITH send_group AS (
    SELECT p.person_key,
           send_label(coalesce(max(send_rank(e.send_status))
               FILTER (WHERE e.start_date < least(p.date_of_birth + INTERVAL 18 YEAR, as_of() + INTERVAL 1 DAY)), 0))
               AS send_status
    FROM (SELECT * FROM stg_persons WHERE in_slice(person_key)) p
    LEFT JOIN (SELECT * FROM stg_send_episodes WHERE in_slice(person_key)) e USING (person_key)
    GROUP BY p.person_key
),
spells AS (
    SELECT person_key, from_month, to_month, n_months, age, locality, sex
    FROM stg_person_spells WHERE age BETWEEN 14 AND 25 AND in_slice(person_key)
),
events AS (  -- one row per event: grouping them by person and month first cost twice as much at national scale,
               -- as nearly every person-month holds a single event
    SELECT person_key, CAST(date_trunc('month', event_date) AS DATE) AS month,
           CASE WHEN concept = 'consultation' THEN 1 ELSE 0 END AS gp_contacts, 0 AS ae_attendances
    FROM stg_gp_events WHERE event_date >= history_start() AND in_slice(person_key)
    UNION ALL
    SELECT person_key, CAST(date_trunc('month', arrival_date) AS DATE), 0, 1
    FROM stg_ae_attendances WHERE arrival_date >= history_start() AND in_slice(person_key)
),
activity AS (
    SELECT s.person_key, s.from_month, sum(e.gp_contacts) AS gp_contacts, sum(e.ae_attendances) AS ae_attendances
    FROM events e
    JOIN spells s ON s.person_key = e.person_key AND e.month BETWEEN s.from_month AND s.to_month
    GROUP BY ALL
)
SELECT
    s.person_key, s.from_month, s.age, g.send_status, s.locality, s.sex, s.n_months,
    CAST(coalesce(a.gp_contacts, 0) AS BIGINT) AS gp_contacts,
    CAST(coalesce(a.ae_attendances, 0) AS BIGINT) AS ae_attendances
FROM spells s
JOIN send_group g USING (person_key)
LEFT JOIN activity a USING (person_key, from_month)
