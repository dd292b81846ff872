-- An endpoint's eventTypes or channels, when given, now name at least one item (as in Svix);
-- an empty list always meant "all", which is what NULL says. Normalise rows stored before, so
-- that editing them is not refused for a field the edit did not touch.
UPDATE endpoints SET event_types = NULL WHERE event_types = '{}';
UPDATE endpoints SET channels = NULL WHERE channels = '{}';
