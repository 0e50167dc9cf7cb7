-- grain: one row per year of age (14-25) x send_status x locality x sex; send_status here is the highest
-- SEND status a young person had before their 18th birthday, ages are on the first day of each month
SELECT
    age, send_status, locality, sex,
    round(sum(n_months) / 12.0, 4) AS person_years,
    CAST(sum(gp_contacts) AS BIGINT) AS gp_contacts,
    CAST(sum(ae_attendances) AS BIGINT) AS ae_attendances
FROM stg_transition_activity
GROUP BY ALL
