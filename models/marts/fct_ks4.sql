-- grain: one row per pupil at the end of key stage 4 (dimensions as on 1 January of the academic year)
SELECT
    k.person_key,
    k.academic_year,
    k.school_urn,
    k.attainment8,
    d.locality, d.age_band, d.sex, d.ethnicity, d.imd_quintile, d.send_status, d.primary_need
FROM stg_ks4_attainment k
JOIN stg_person_spells d ON d.person_key = k.person_key
               AND month_of(k.census_date) BETWEEN d.match_from AND d.match_to
