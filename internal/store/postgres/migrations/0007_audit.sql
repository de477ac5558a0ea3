-- The audit trail: one row per audited request (every write, every kubeconfig fetched, every
-- request refused with 401 or 403), never with a body, a query string, a token or a secret. id
-- grows with each row; the store keeps the newest rows and deletes those that fall too far
-- behind. Text columns compare bytewise (COLLATE "C"), as on SQLite.
CREATE TABLE audit (
    id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time      timestamptz NOT NULL,
    principal text        COLLATE "C" NOT NULL,
    verb      text        COLLATE "C" NOT NULL,
    kind      text        COLLATE "C" NOT NULL,
    key       text        COLLATE "C" NOT NULL,
    method    text        NOT NULL,
    path      text        NOT NULL,
    source_ip text        NOT NULL,
    code      integer     NOT NULL,
    result    text        COLLATE "C" NOT NULL,
    reason    text        NOT NULL,
    dry_run   boolean     NOT NULL
);
CREATE INDEX audit_principal_id ON audit (principal, id);
CREATE INDEX audit_kind_key_id ON audit (kind, key, id);
CREATE INDEX audit_time ON audit (time);
