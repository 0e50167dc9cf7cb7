-- grain: one row per person x spell, a run of months of the history window in which the person was aged 0-25
-- and registered and had the same age and SEND status on the first day of every month; with every standard
-- dimension. Facts find their dimensions by joining on person_key and month_of(date) between match_from and
-- match_to, so no table has a row per person per month. match_from..match_to is from_month..to_month, opened to
-- the beginning of time on the span's first spell and to its end on the last, so a date before the span takes
-- the dimensions of its first month and a date after it those of its last. (Clamping the date into the span in
-- the join condition instead made DuckDB pair every event with every spell of its person and filter after: a
-- national GP events slice took 31 s, against 22 s with the range kept as a plain condition of the join.)
-- sliced by person
WITH span AS (
    SELECT
        person_key, date_of_birth, practice_code, small_area_code, locality, sex, ethnicity, imd_quintile,
        greatest(history_start(), month_on_or_after(date_of_birth), month_on_or_after(registration_date))
            AS span_first,
        least(date_trunc('month', as_of()),
              month_on_or_after(date_of_birth + INTERVAL 26 YEAR) - INTERVAL 1 MONTH,
              coalesce(month_on_or_after(deregistration_date) - INTERVAL 1 MONTH, DATE '9999-12-01'))::DATE
            AS span_last
    FROM stg_persons
    WHERE in_slice(person_key)
),
spans AS (SELECT * FROM span WHERE span_first <= span_last),
bounds AS (  -- months on whose first day age or SEND status may change
    SELECT person_key, span_first AS b FROM spans
    UNION ALL
    SELECT person_key, month_on_or_after(date_of_birth + to_years(CAST(k AS INTEGER))) AS b
    FROM (SELECT person_key, date_of_birth,
                 unnest(range(age_at(date_of_birth, span_first) + 1, age_at(date_of_birth, span_last) + 1)) AS k
          FROM spans)
    UNION ALL
    SELECT person_key, month_on_or_after(start_date) FROM stg_send_episodes WHERE in_slice(person_key)
    UNION ALL
    SELECT person_key, month_on_or_after(end_date) FROM stg_send_episodes
    WHERE end_date IS NOT NULL AND in_slice(person_key)
),
next_bounds AS (  -- the window sees two narrow columns only: with every dimension beside them it ran out of
                  -- memory at national scale (about 130 million bounds). The bounds are made distinct once
                  -- here: UNION instead of UNION ALL above made three groupings in a row (a national slice
                  -- 28.6 s, against 22.4 s)
    SELECT person_key, b, lead(b) OVER (PARTITION BY person_key ORDER BY b) AS next_b
    FROM (SELECT DISTINCT person_key, b FROM bounds)
),
intervals AS (
    -- A bound after the span ends the last interval inside it no later than span_last, so clamping gives the
    -- same months as taking the next bound among the span's own.
    SELECT s.*, n.b AS from_month,
           least(coalesce(CAST(n.next_b - INTERVAL 1 MONTH AS DATE), s.span_last), s.span_last) AS to_month
    FROM next_bounds n JOIN spans s USING (person_key)
    WHERE n.b BETWEEN s.span_first AND s.span_last
),
status AS (
    SELECT i.person_key, i.from_month, max(send_rank(e.send_status)) AS r,
           arg_max(e.primary_need, send_rank(e.send_status)) AS need
    FROM intervals i
    JOIN (SELECT * FROM stg_send_episodes WHERE in_slice(person_key)) e
      ON e.person_key = i.person_key AND e.start_date <= i.from_month
     AND (e.end_date IS NULL OR i.from_month < e.end_date)
    GROUP BY ALL
)
SELECT
    i.person_key,
    i.from_month,
    i.to_month,
    CAST(date_diff('month', i.from_month, i.to_month) + 1 AS INTEGER) AS n_months,
    age_at(i.date_of_birth, i.from_month) AS age,
    i.practice_code,
    i.small_area_code,
    i.locality,
    age_band(age_at(i.date_of_birth, i.from_month)) AS age_band,
    i.sex,
    i.ethnicity,
    i.imd_quintile,
    send_label(coalesce(s.r, 0)) AS send_status,
    CASE WHEN s.r > 0 THEN s.need ELSE 'None' END AS primary_need,
    CASE WHEN i.from_month = i.span_first THEN DATE '0001-01-01' ELSE i.from_month END AS match_from,
    CASE WHEN i.to_month = i.span_last THEN DATE '9999-12-01' ELSE i.to_month END AS match_to
FROM intervals i
LEFT JOIN status s USING (person_key, from_month)
