-- grain: one row per linked EHC needs assessment request received by as_of
SELECT *
FROM landed_sen2_casework
WHERE person_key IS NOT NULL AND request_date <= as_of()
