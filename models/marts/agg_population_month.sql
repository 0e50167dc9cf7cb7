-- grain: one row per month x standard dimensions; n_people is the denominator for monthly rates
WITH months AS (
    SELECT CAST(m AS DATE) AS month
    FROM range(history_start(), date_trunc('month', as_of()) + INTERVAL 1 MONTH, INTERVAL 1 MONTH) t(m)
),
spells AS (  -- people sharing dimensions and months are counted together before months are expanded
    SELECT from_month, to_month, locality, age_band, sex, ethnicity, imd_quintile, send_status, primary_need,
           count(*) AS n
    FROM stg_person_spells GROUP BY ALL
)
SELECT m.month, s.locality, s.age_band, s.sex, s.ethnicity, s.imd_quintile, s.send_status, s.primary_need,
       CAST(sum(s.n) AS BIGINT) AS n_people
FROM spells s
JOIN months m ON m.month BETWEEN s.from_month AND s.to_month
GROUP BY ALL
-- Stored in month then locality order: a query's period and locality filters then skip most of the file's row
-- groups by their min/max statistics (national: 160 ms to 43 ms for a year, to 19 ms for a year and a locality)
ORDER BY month, locality
