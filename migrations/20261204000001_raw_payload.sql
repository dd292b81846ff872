-- A message sent with transformationsParams.rawPayload (the SDKs' "raw payload" helpers) is
-- delivered byte for byte, with the Content-Type the sender chose; NULL means
-- application/json, as for every other message.
ALTER TABLE messages ADD COLUMN content_type TEXT;
