-- Leases let servers claim work; expires_at is Unix nanoseconds.
CREATE TABLE leases (
    name       TEXT    PRIMARY KEY,
    holder     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);

-- Internal secrets (cluster CAs, bootstrap tokens), sealed with AES-256-GCM.
CREATE TABLE secrets (
    name   TEXT PRIMARY KEY,
    sealed BLOB NOT NULL
);
