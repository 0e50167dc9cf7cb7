-- grain: one row per month x standard dimensions: people, A&E attendances and GP contacts
-- (rate per 1,000 = activity / n_people * 1000)
-- People and the two kinds of activity are stacked and summed in one grouping rather than joined: the
-- full outer join of two 19.5-million-row tables on eight columns ran out of the build's memory at national
-- scale, and DuckDB's grouping spills to disk where that join could not. The dimensions are never NULL
-- (see the tests), so grouping gives exactly the rows the join gave.
WITH stacked AS (
    SELECT month, locality, age_band, sex, ethnicity, imd_quintile, send_status, primary_need,
           n_people, 0 AS ae_attendances, 0 AS gp_contacts
    FROM agg_population_month
    UNION ALL
    SELECT month, locality, age_band, sex, ethnicity, imd_quintile, send_status, primary_need,
           0, count(*), 0
    FROM fct_ae_attendances GROUP BY ALL
    UNION ALL
    SELECT CAST(date_trunc('month', event_date) AS DATE), locality, age_band, sex, ethnicity, imd_quintile,
           send_status, primary_need, 0, 0, count(*)
    FROM fct_gp_events WHERE concept = 'consultation' AND event_date >= history_start() GROUP BY ALL
)
SELECT
    month, locality, age_band, sex, ethnicity, imd_quintile, send_status, primary_need,
    CAST(sum(n_people) AS BIGINT) AS n_people,
    CAST(sum(ae_attendances) AS BIGINT) AS ae_attendances,
    CAST(sum(gp_contacts) AS BIGINT) AS gp_contacts
FROM stacked
GROUP BY ALL
-- Stored in month then locality order: a query's period and locality filters then skip most of the file's row
-- groups by their min/max statistics (national: 160 ms to 43 ms for a year, to 19 ms for a year and a locality)
ORDER BY month, locality
