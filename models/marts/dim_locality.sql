-- grain: one row per locality
SELECT
    g.locality,
    any_value(g.locality_code) AS locality_code,
    coalesce(any_value(n.n_cyp), 0) AS n_cyp,
    round(avg(g.centroid_lon), 5) AS centroid_lon,
    round(avg(g.centroid_lat), 5) AS centroid_lat,
    count(*) AS n_small_areas
FROM stg_geography g
LEFT JOIN (
    SELECT locality, count(*) AS n_cyp FROM stg_person_spells
    WHERE date_trunc('month', as_of()) BETWEEN from_month AND to_month GROUP BY locality
) n USING (locality)
GROUP BY g.locality
ORDER BY g.locality
