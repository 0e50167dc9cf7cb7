-- grain: one row per linked community-service referral received by as_of
-- partitioned by person
SELECT
    referral_id,
    person_key,
    service,
    referral_date,
    CASE WHEN seen_date <= as_of() THEN seen_date END AS seen_date
FROM landed_community_referrals
WHERE person_key IS NOT NULL AND referral_date <= as_of()
