-- The change feed: one row per write of an object, keyed by the write's resourceVersion, with
-- the object as it was written (as it last was, for a deletion) in the JSON that reads answer:
-- without its secrets, with the fields that say which are stored. Written in the write's
-- transaction, which takes its resourceVersion under a lock held until it commits, so that the
-- order of the resourceVersions is the order of the commits and a reader never sees a later
-- change before an earlier one. Rows older than the retention are pruned; change_horizon is the
-- resourceVersion up to which they were: a watch that resumes from before it must list again.
CREATE TABLE changes (
    resource_version bigint      PRIMARY KEY,
    type             text        NOT NULL,
    kind             text        NOT NULL,
    key              text        COLLATE "C" NOT NULL,
    data             text        NOT NULL,
    time             timestamptz NOT NULL
);
CREATE INDEX changes_time ON changes (time);

CREATE TABLE change_horizon (
    id               integer PRIMARY KEY CHECK (id = 1),
    resource_version bigint  NOT NULL
);
-- The writes before this migration are not in the feed.
INSERT INTO change_horizon (id, resource_version)
SELECT 1, CASE WHEN is_called THEN last_value ELSE 0 END FROM resource_version_seq;
