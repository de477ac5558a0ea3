-- The references between objects (v1alpha1.References): the object kind/key refers to
-- target_kind/target_key. Written in the same transaction as the object; a writer of a
-- referrer locks the targets' rows FOR KEY SHARE and a deleter locks its row FOR UPDATE before
-- it reads this table, so that each sees the other's commit. The rows of the objects stored
-- before this migration are filled by the store when it applies it.
CREATE TABLE refs (
    kind        text COLLATE "C" NOT NULL,
    key         text COLLATE "C" NOT NULL,
    target_kind text COLLATE "C" NOT NULL,
    target_key  text COLLATE "C" NOT NULL,
    PRIMARY KEY (kind, key, target_kind, target_key)
);
CREATE INDEX refs_target ON refs (target_kind, target_key, kind, key);
