-- Leases let servers claim work; expiry uses the database's clock, shared by all servers.
CREATE TABLE leases (
    name       TEXT        PRIMARY KEY COLLATE "C",
    holder     TEXT        NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

-- Internal secrets (cluster CAs, bootstrap tokens), sealed with AES-256-GCM.
CREATE TABLE secrets (
    name   TEXT  PRIMARY KEY COLLATE "C",
    sealed BYTEA NOT NULL
);
