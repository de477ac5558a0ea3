-- One counter shared by every kind: each write takes the next value as its resourceVersion.
CREATE TABLE resource_version (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO resource_version (id, value) VALUES (1, 0);

-- Objects of every kind. data is the JSON document without its secret; secret is the sealed
-- secret (AES-256-GCM), NULL when the object carries none. Timestamps are RFC 3339 text in UTC.
CREATE TABLE objects (
    kind             TEXT    NOT NULL,
    key              TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    uid              TEXT    NOT NULL,
    generation       INTEGER NOT NULL,
    resource_version INTEGER NOT NULL,
    created_at       TEXT    NOT NULL,
    deleted_at       TEXT,
    data             TEXT    NOT NULL,
    secret           BLOB,
    PRIMARY KEY (kind, key)
);
CREATE INDEX objects_kind_name ON objects (kind, name);

-- Events outlive their object; only the newest few per (kind, key) are kept.
CREATE TABLE events (
    id      INTEGER PRIMARY KEY,
    kind    TEXT NOT NULL,
    key     TEXT NOT NULL,
    uid     TEXT NOT NULL,
    type    TEXT NOT NULL,
    reason  TEXT NOT NULL,
    message TEXT NOT NULL,
    time    TEXT NOT NULL
);
CREATE INDEX events_kind_key_id ON events (kind, key, id);
