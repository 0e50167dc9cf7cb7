-- grain: one row per person with the first and last month they appear in stg_person_month; facts clamp their
-- event month into this span so every linked event finds the person's dimensions (events before the history
-- window, or before a move into the area, take the dimensions of the person's first month)
SELECT person_key, min(month) AS first_month, max(month) AS last_month
FROM stg_person_month
GROUP BY person_key
