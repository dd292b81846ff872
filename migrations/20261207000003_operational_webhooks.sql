-- Operational webhooks (issue 10): an organisation's operational-webhook endpoints are the
-- endpoints of one application of its own, marked `operational`, so that events about the
-- organisation (an endpoint disabled, a delivery exhausted, ...) go through the ordinary
-- delivery path: signed, retried, logged and visible. The application API and the portal's
-- application pages never show it; /api/v1/operational-webhook/endpoint manages its endpoints.
-- (A column with a constant default: no table rewrite.)
ALTER TABLE applications ADD COLUMN operational boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX applications_operational ON applications (org_id) WHERE operational;
-- What a delivery's body is: 0 the message's payload, signed (every endpoint of the API);
-- 1 a readable {"text": ...} made from an operational event, for a Slack-compatible incoming
-- webhook (a notification destination made in the portal).
ALTER TABLE endpoints ADD COLUMN payload_format smallint NOT NULL DEFAULT 0;
