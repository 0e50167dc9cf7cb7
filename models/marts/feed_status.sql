-- grain: one row per feed (every feed with a contract, received or not)
WITH log AS (SELECT * FROM ingest_log),
landed AS (
    SELECT feed, arg_max(file, received_at) AS last_file, max(received_at) AS received_at
    FROM log WHERE status = 'landed' AND companion IS NULL GROUP BY feed
),
in_use AS (  -- the rows the build used: the latest file for full feeds, all files for incremental ones
    SELECT feed, sum(rows) AS rows, sum(linked_rows) AS linked_rows FROM ingest_files_in_use GROUP BY feed
),
failures AS (
    SELECT l.feed, count(*) AS quarantined_files,
           count(*) FILTER (WHERE l.received_at > coalesce(d.received_at, '')) AS failed_since_last_good,
           arg_max(l.faults, l.received_at) AS last_failure_faults,
           arg_max(l.file, l.received_at) AS last_failed_file,
           max(l.received_at) AS last_failure_at
    FROM log l LEFT JOIN landed d USING (feed)
    WHERE l.status = 'quarantined' GROUP BY l.feed
)
SELECT
    c.feed,
    c.title,
    c.delivery,
    d.last_file,
    CAST(d.received_at AS TIMESTAMP) AS received_at,
    CAST(coalesce(u.rows, 0) AS BIGINT) AS rows,
    CAST(CASE WHEN f.failed_since_last_good > 0 THEN f.last_failure_faults ELSE 0 END AS BIGINT) AS failures,
    coalesce(f.quarantined_files, 0) AS quarantined_files,
    f.last_failed_file,
    CAST(f.last_failure_at AS TIMESTAMP) AS last_failure_at,
    CASE WHEN c.linkage IN ('none') OR u.rows IS NULL OR u.rows = 0 THEN NULL
         ELSE round(u.linked_rows / u.rows, 6) END AS linkage_match_rate
FROM feed_contracts c
LEFT JOIN landed d USING (feed)
LEFT JOIN in_use u USING (feed)
LEFT JOIN failures f USING (feed)
ORDER BY c.ord
