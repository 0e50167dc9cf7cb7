-- grain: one row per month x standard dimensions: people, A&E attendances and GP contacts
-- (rate per 1,000 = activity / n_people * 1000)
WITH activity AS (
    SELECT month, locality, age_band, sex, ethnicity, imd_quintile, send_status, primary_need,
           count(*) AS ae_attendances, 0 AS gp_contacts
    FROM fct_ae_attendances GROUP BY ALL
    UNION ALL
    SELECT CAST(date_trunc('month', event_date) AS DATE), locality, age_band, sex, ethnicity, imd_quintile,
           send_status, primary_need, 0, count(*)
    FROM fct_gp_events WHERE concept = 'consultation' AND event_date >= history_start() GROUP BY ALL
),
summed AS (
    SELECT month, locality, age_band, sex, ethnicity, imd_quintile, send_status, primary_need,
           sum(ae_attendances) AS ae_attendances, sum(gp_contacts) AS gp_contacts
    FROM activity GROUP BY ALL
)
SELECT
    month, locality, age_band, sex, ethnicity, imd_quintile, send_status, primary_need,
    coalesce(p.n_people, 0) AS n_people,
    CAST(coalesce(s.ae_attendances, 0) AS BIGINT) AS ae_attendances,
    CAST(coalesce(s.gp_contacts, 0) AS BIGINT) AS gp_contacts
FROM agg_population_month p
FULL OUTER JOIN summed s USING (month, locality, age_band, sex, ethnicity, imd_quintile, send_status, primary_need)
-- Stored in month then locality order: a query's period and locality filters then skip most of the file's row
-- groups by their min/max statistics (national: 160 ms to 43 ms for a year, to 19 ms for a year and a locality)
ORDER BY month, locality
