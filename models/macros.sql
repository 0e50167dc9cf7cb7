-- Shared SQL macros, created before any model runs. getvariable('as_of') and getvariable('history_start')
-- are set by portal/marts.py for each build.
CREATE OR REPLACE MACRO as_of() AS getvariable('as_of');
CREATE OR REPLACE MACRO history_start() AS getvariable('history_start');
-- completed years of age on day d (the generator uses the same rule)
CREATE OR REPLACE MACRO age_at(dob, d) AS
    (year(d) - year(dob)) - CASE WHEN month(d) * 100 + day(d) < month(dob) * 100 + day(dob) THEN 1 ELSE 0 END;
CREATE OR REPLACE MACRO age_band(a) AS
    CASE WHEN a <= 4 THEN '0-4' WHEN a <= 10 THEN '5-10' WHEN a <= 15 THEN '11-15' WHEN a <= 17 THEN '16-17'
         ELSE '18-25' END;
CREATE OR REPLACE MACRO send_rank(status) AS
    CASE status WHEN 'EHCP' THEN 2 WHEN 'SEN support' THEN 1 ELSE 0 END;
CREATE OR REPLACE MACRO send_label(r) AS
    CASE r WHEN 2 THEN 'EHCP' WHEN 1 THEN 'SEN support' ELSE 'No SEND' END;
-- the first day of day d's month; a fact finds the person spell with its dimensions by
-- month_of(d) BETWEEN match_from AND match_to (see stg_person_spells)
CREATE OR REPLACE MACRO month_of(d) AS CAST(date_trunc('month', d) AS DATE);
-- the first day of a month on or after day d (the first month whose first day is at or after d)
CREATE OR REPLACE MACRO month_on_or_after(d) AS
    CAST(CASE WHEN day(d) = 1 THEN d ELSE date_trunc('month', d) + INTERVAL 1 MONTH END AS DATE);
-- whether person key k is in the slice of people a sliced model is running (portal/marts.py sets the variables
-- slice and slices; with one slice everyone is in it)
-- the slice of people person key k falls in, 0 to slices - 1 (a partitioned model's rows are dealt by it)
CREATE OR REPLACE MACRO person_slice(k) AS hash(k) % getvariable('slices');
CREATE OR REPLACE MACRO in_slice(k) AS person_slice(k) = getvariable('slice');
