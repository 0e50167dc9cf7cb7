-- grain: one row per month x service x standard dimensions, counting referrals still waiting at the end of
-- that month (month is the first day; dimensions as on that first day)
WITH months AS (
    SELECT CAST(m AS DATE) AS month, CAST(m + INTERVAL 1 MONTH - INTERVAL 1 DAY AS DATE) AS month_end
    FROM range(history_start(), date_trunc('month', as_of()) + INTERVAL 1 MONTH, INTERVAL 1 MONTH) t(m)
),
waiting AS (
    SELECT m.month, r.person_key, r.service, date_diff('day', r.referral_date, m.month_end) / 7.0 AS weeks
    FROM stg_referrals r
    JOIN months m ON r.referral_date <= m.month_end AND (r.seen_date IS NULL OR r.seen_date > m.month_end)
)
SELECT
    w.month, w.service,
    d.locality, d.age_band, d.sex, d.ethnicity, d.imd_quintile, d.send_status, d.primary_need,
    count(*) AS n_waiting,
    count(*) FILTER (WHERE w.weeks > 18) AS n_over_18_weeks,
    count(*) FILTER (WHERE w.weeks > 52) AS n_over_52_weeks,
    round(median(w.weeks), 2) AS median_wait_weeks
FROM waiting w
JOIN stg_person_spells d ON d.person_key = w.person_key AND w.month BETWEEN d.from_month AND d.to_month
GROUP BY ALL
