-- grain: one row per young person with SEND before 18 who turned 18 within the history window
-- sliced by person
WITH turned AS (
    SELECT p.person_key, p.date_of_birth,
           CAST(p.date_of_birth + INTERVAL 18 YEAR AS DATE) AS turned_18_on,
           max(send_rank(e.send_status)) AS r
    FROM (SELECT * FROM stg_persons WHERE in_slice(person_key)) p
    JOIN stg_send_episodes e ON e.person_key = p.person_key AND e.start_date < p.date_of_birth + INTERVAL 18 YEAR
    GROUP BY p.person_key, p.date_of_birth
)
SELECT
    t.person_key,
    t.turned_18_on,
    EXISTS (SELECT 1 FROM stg_referrals r WHERE r.person_key = t.person_key
            AND coalesce(r.seen_date, as_of()) >= t.turned_18_on - INTERVAL 2 YEAR
            AND r.referral_date < t.turned_18_on) AS left_childrens_services,
    EXISTS (SELECT 1 FROM stg_gp_events g WHERE g.person_key = t.person_key AND g.concept = 'consultation'
            AND g.event_date >= t.turned_18_on AND g.event_date < t.turned_18_on + INTERVAL 12 MONTH) AS adult_follow_up,
    CAST(least(12, date_diff('month', t.turned_18_on, as_of())) AS INTEGER) AS follow_up_months_available,
    d.locality, d.age_band, d.sex, d.ethnicity, d.imd_quintile,
    send_label(t.r) AS send_status,
    d.primary_need
FROM turned t
JOIN (SELECT * FROM stg_person_spells WHERE in_slice(person_key)) d ON d.person_key = t.person_key
               AND month_of(t.turned_18_on) BETWEEN d.match_from AND d.match_to
WHERE t.turned_18_on BETWEEN history_start() AND as_of()
