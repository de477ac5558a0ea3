-- The change feed: one row per write of an object, keyed by the write's resourceVersion, with
-- the object as it was written (as it last was, for a deletion) in the JSON that reads answer:
-- without its secrets, with the fields that say which are stored. Written in the write's
-- transaction, so its order is the order of the commits. Rows older than the retention are
-- pruned; change_horizon is the resourceVersion up to which they were: a watch that resumes from
-- before it must list again.
CREATE TABLE changes (
    resource_version INTEGER PRIMARY KEY,
    type             TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    key              TEXT    NOT NULL,
    data             TEXT    NOT NULL,
    time             TEXT    NOT NULL
);
CREATE INDEX changes_time ON changes (time);

CREATE TABLE change_horizon (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    resource_version INTEGER NOT NULL
);
-- The writes before this migration are not in the feed.
INSERT INTO change_horizon (id, resource_version) SELECT 1, value FROM resource_version;
