-- grain: one row per linked person x month x BNF chemical (presentations summed)
-- partitioned by person
SELECT
    person_key,
    CAST(date_trunc('month', dispensed_month) AS DATE) AS month,
    left(bnf_code, 9) AS bnf_chemical,
    CASE left(bnf_code, 9)
        WHEN '0401010AD' THEN 'Melatonin'
        WHEN '0301011R0' THEN 'Salbutamol'
        WHEN '0404000M0' THEN 'Methylphenidate hydrochloride'
        ELSE any_value(bnf_name)
    END AS bnf_name,
    sum(items) AS items
FROM landed_prescribing
WHERE person_key IS NOT NULL AND dispensed_month <= as_of()
GROUP BY person_key, date_trunc('month', dispensed_month), left(bnf_code, 9)
