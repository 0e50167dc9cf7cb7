-- grain: one row per person x month with melatonin (BNF chemical 0401010AD) dispensed, with the conditions their
-- GP had recorded by the snapshot date (false for someone no longer registered); the Sleep services page and
-- the home page's melatonin count read this instead of every prescription
SELECT
    r.person_key, r.month, r.items,
    r.locality, r.age_band, r.sex, r.ethnicity, r.imd_quintile, r.send_status, r.primary_need,
    coalesce(d.has_asthma, false) AS has_asthma,
    coalesce(d.has_obesity, false) AS has_obesity,
    coalesce(d.has_autism, false) AS has_autism,
    coalesce(d.has_adhd, false) AS has_adhd
FROM fct_prescriptions r
LEFT JOIN dim_person d USING (person_key)
WHERE r.bnf_chemical = '0401010AD'
