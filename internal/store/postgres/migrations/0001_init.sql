-- One counter shared by every kind: each write takes the next value as its resourceVersion.
CREATE SEQUENCE resource_version_seq AS bigint;

-- Objects of every kind. data is the JSON document without its secret, kept as TEXT so that it
-- reads back byte for byte (the spec inside it is compared with a new one to decide whether the
-- generation moves; JSONB would reorder keys). secret is the sealed secret (AES-256-GCM), NULL
-- when the object carries none. key sorts bytewise (COLLATE "C") so that List pages in the same
-- order as on SQLite whatever the database's collation.
CREATE TABLE objects (
    kind             text        NOT NULL,
    key              text        COLLATE "C" NOT NULL,
    name             text        NOT NULL,
    uid              uuid        NOT NULL,
    generation       bigint      NOT NULL,
    resource_version bigint      NOT NULL,
    created_at       timestamptz NOT NULL,
    deleted_at       timestamptz,
    data             text        NOT NULL,
    secret           bytea,
    PRIMARY KEY (kind, key)
);
CREATE INDEX objects_kind_name ON objects (kind, name);

-- Events outlive their object; only the newest few per (kind, key) are kept.
CREATE TABLE events (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind    text        NOT NULL,
    key     text        COLLATE "C" NOT NULL,
    uid     text        NOT NULL,
    type    text        NOT NULL,
    reason  text        NOT NULL,
    message text        NOT NULL,
    time    timestamptz NOT NULL
);
CREATE INDEX events_kind_key_id ON events (kind, key, id);
