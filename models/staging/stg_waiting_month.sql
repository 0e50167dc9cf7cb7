-- grain: one row per referral x month at whose end it was still waiting (month is the first day; weeks
-- waited at the month's end; dimensions as on that first day)
-- sliced by person
WITH months AS (
    SELECT CAST(m AS DATE) AS month, CAST(m + INTERVAL 1 MONTH - INTERVAL 1 DAY AS DATE) AS month_end
    FROM range(history_start(), date_trunc('month', as_of()) + INTERVAL 1 MONTH, INTERVAL 1 MONTH) t(m)
),
waiting AS (
    SELECT m.month, r.person_key, r.service, date_diff('day', r.referral_date, m.month_end) / 7.0 AS weeks
    FROM (SELECT * FROM stg_referrals WHERE in_slice(person_key)) r
    JOIN months m ON r.referral_date <= m.month_end AND (r.seen_date IS NULL OR r.seen_date > m.month_end)
)
SELECT
    w.month, w.service, w.weeks,
    d.locality, d.age_band, d.sex, d.ethnicity, d.imd_quintile, d.send_status, d.primary_need
FROM waiting w
JOIN (SELECT * FROM stg_person_spells WHERE in_slice(person_key)) d
  ON d.person_key = w.person_key AND w.month BETWEEN d.from_month AND d.to_month
