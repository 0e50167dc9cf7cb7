-- grain: one row per pupil x academic year (dimensions as on 1 January of the academic year)
-- sliced by person
SELECT
    s.person_key,
    s.academic_year,
    s.school_urn,
    s.sessions_possible,
    s.sessions_missed,
    s.sessions_missed * 10 >= s.sessions_possible AS persistently_absent,
    s.suspensions,
    s.permanent_exclusions,
    d.locality, d.age_band, d.sex, d.ethnicity, d.imd_quintile, d.send_status, d.primary_need
FROM (SELECT * FROM stg_school_census WHERE in_slice(person_key)) s
JOIN (SELECT * FROM stg_person_spells WHERE in_slice(person_key)) d ON d.person_key = s.person_key
               AND month_of(s.census_date) BETWEEN d.match_from AND d.match_to
