-- The references between objects (v1alpha1.References): the object kind/key refers to
-- target_kind/target_key. Written in the same transaction as the object, so that the in-use
-- check of a deletion and the create of a referrer see each other. The rows of the objects
-- stored before this migration are filled by the store when it applies it.
CREATE TABLE refs (
    kind        TEXT NOT NULL,
    key         TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_key  TEXT NOT NULL,
    PRIMARY KEY (kind, key, target_kind, target_key)
);
CREATE INDEX refs_target ON refs (target_kind, target_key, kind, key);
