-- Events belong to an object's UID, not to its name: an object created with the name of a
-- deleted one starts with no history. Events recorded without a UID are given the UID of the
-- object now stored under their key when they were recorded after its creation; older ones
-- belonged to an earlier object of that name and keep no UID.
UPDATE events e SET uid = o.uid::text
FROM objects o
WHERE e.uid = '' AND o.kind = e.kind AND o.key = e.key AND o.created_at <= e.time;
CREATE INDEX events_kind_key_uid_id ON events (kind, key, uid, id);
