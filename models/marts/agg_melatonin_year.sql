-- grain: one row per person x year before the snapshot (year 0 is the 12 months up to the snapshot month) x the
-- standard dimensions the person had in that year's prescribing months (a child whose age band or SEND status
-- changed during the year has a row for each); the Sleep services trend counts distinct people per year from
-- this, a sixth of the prescription months it would otherwise read
SELECT
    person_key,
    date_diff('month', month, date_trunc('month', as_of())) // 12 AS years_back,
    locality, age_band, sex, ethnicity, imd_quintile, send_status, primary_need,
    sum(items) AS items
FROM fct_melatonin_prescriptions
WHERE month <= as_of()
GROUP BY ALL
