-- The audit trail: one row per audited request (every write, every kubeconfig fetched, every
-- request refused with 401 or 403), never with a body, a query string, a token or a secret. id
-- grows with each row (AUTOINCREMENT: an id is never reused, even after the newest rows are
-- deleted); the store keeps the newest rows and deletes those that fall too far behind. time is
-- UTC text of fixed width (microseconds), so that it sorts as text.
CREATE TABLE audit (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    time      TEXT    NOT NULL,
    principal TEXT    NOT NULL,
    verb      TEXT    NOT NULL,
    kind      TEXT    NOT NULL,
    key       TEXT    NOT NULL,
    method    TEXT    NOT NULL,
    path      TEXT    NOT NULL,
    source_ip TEXT    NOT NULL,
    code      INTEGER NOT NULL,
    result    TEXT    NOT NULL,
    reason    TEXT    NOT NULL,
    dry_run   INTEGER NOT NULL
);
CREATE INDEX audit_principal_id ON audit (principal, id);
CREATE INDEX audit_kind_key_id ON audit (kind, key, id);
CREATE INDEX audit_time ON audit (time);
