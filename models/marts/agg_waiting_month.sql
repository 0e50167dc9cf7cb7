-- grain: one row per month x service x standard dimensions, counting referrals still waiting at the end of
-- that month (month is the first day; dimensions as on that first day)
SELECT
    month, service, locality, age_band, sex, ethnicity, imd_quintile, send_status, primary_need,
    count(*) AS n_waiting,
    count(*) FILTER (WHERE weeks > 18) AS n_over_18_weeks,
    count(*) FILTER (WHERE weeks > 52) AS n_over_52_weeks,
    round(median(weeks), 2) AS median_wait_weeks
FROM stg_waiting_month
GROUP BY ALL
-- Stored in month then locality order: a query's period and locality filters then skip most of the file's row
-- groups by their min/max statistics (national: 160 ms to 43 ms for a year, to 19 ms for a year and a locality)
ORDER BY month, locality
