-- grain: one row per academic year x standard dimensions: pupils, sessions, absence and exclusions summed, so
-- the Education page's rates come from sums (rate = sum / sum) without reading every pupil
SELECT
    academic_year, locality, age_band, sex, ethnicity, imd_quintile, send_status, primary_need,
    count(*) AS pupils,
    CAST(sum(sessions_possible) AS BIGINT) AS sessions_possible,
    CAST(sum(sessions_missed) AS BIGINT) AS sessions_missed,
    count(*) FILTER (WHERE persistently_absent) AS persistently_absent,
    count(*) FILTER (WHERE suspensions > 0) AS pupils_suspended,
    CAST(sum(suspensions) AS BIGINT) AS suspensions,
    CAST(sum(permanent_exclusions) AS BIGINT) AS permanent_exclusions
FROM fct_school_census
GROUP BY ALL
