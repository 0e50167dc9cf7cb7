-- grain: one row per month x standard dimensions; n_people is the denominator for monthly rates
SELECT month, locality, age_band, sex, ethnicity, imd_quintile, send_status, primary_need, count(*) AS n_people
FROM stg_dims
GROUP BY ALL
