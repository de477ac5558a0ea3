-- Proxy passwords that a strata from before they were write-only kept in a gateway's JSON (its
-- proxy URLs) are moved to the sealed secret column by the store when it applies this migration.
SELECT 1;
