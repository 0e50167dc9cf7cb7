-- grain: one row per small area
SELECT
    small_area_code,
    small_area_name,
    locality_code,
    locality_name AS locality,
    imd_decile,
    CAST(ceil(imd_decile / 2.0) AS INTEGER) AS imd_quintile,
    centroid_lon,
    centroid_lat
FROM landed_geography
