"""Drives Hookline with the official Svix Python SDK (PyPI `svix`), unmodified.

Run by the Rust integration test `sdk.rs` with HOOKLINE_URL and HOOKLINE_KEY set. Starts a
receiver on 127.0.0.1, then exercises applications, event types, endpoints, secrets, messages,
attempts, resend, recover and stats, and verifies a delivery's signature with the SDK's own
`Webhook.verify`. Any failed check raises, which fails the test.
"""
import http.server
import os
import threading
import time
from datetime import datetime, timedelta, timezone

from svix.api import (
    ApplicationIn, ApplicationPatch, EndpointHeadersIn, EndpointIn, EndpointPatch,
    EndpointSecretRotateIn, EventTypeIn, MessageIn, RecoverIn, Svix, SvixOptions,
    AppPortalAccessIn, MessageListOptions,
)
from svix.exceptions import HttpError, HTTPValidationError
from svix.webhooks import Webhook

received = []


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def wait_for(predicate, what, secs=15):
    deadline = time.time() + secs
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    receiver = f"http://127.0.0.1:{server.server_address[1]}/hook"

    svix = Svix(os.environ["HOOKLINE_KEY"], SvixOptions(server_url=os.environ["HOOKLINE_URL"]))
    svix.health.get()

    svix.event_type.create(EventTypeIn(name="invoice.paid", description="An invoice was paid"))
    app = svix.application.create(ApplicationIn(name="SDK app", uid="sdk-app"))
    assert app.id.startswith("app_"), app.id
    assert svix.application.get("sdk-app").id == app.id
    same = svix.application.get_or_create(ApplicationIn(name="SDK app", uid="sdk-app"))
    assert same.id == app.id
    patched = svix.application.patch(app.id, ApplicationPatch(name="Renamed"))
    assert patched.name == "Renamed"

    ep = svix.endpoint.create(app.id, EndpointIn(url=receiver, event_types=["invoice.paid"], description="sdk"))
    assert ep.id.startswith("ep_")
    ep = svix.endpoint.patch(app.id, ep.id, EndpointPatch(description="patched"))
    assert ep.description == "patched"
    svix.endpoint.set_headers(app.id, ep.id, EndpointHeadersIn(headers={"X-From": "sdk"}))
    assert svix.endpoint.get_headers(app.id, ep.id).headers == {"X-From": "sdk"}
    secret = svix.endpoint.get_secret(app.id, ep.id).key
    assert secret.startswith("whsec_")

    msg = svix.message.create(app.id, MessageIn(event_type="invoice.paid", payload={"amount": 7}, event_id="sdk-evt-1"))
    assert msg.id.startswith("msg_")
    wait_for(lambda: len(received) == 1, "the first delivery")
    headers, body = received[0]
    Webhook(secret).verify(body, headers)
    assert headers.get("x-from") == "sdk", headers

    try:
        svix.message.create(app.id, MessageIn(event_type="invoice.paid", payload={}, event_id="sdk-evt-1"))
        raise AssertionError("duplicate eventId must fail")
    except HttpError as e:
        assert e.status_code == 409, e.status_code

    try:
        svix.message.create(app.id, MessageIn(event_type="not a valid name!", payload={}))
        raise AssertionError("an event type name with spaces must fail")
    except HTTPValidationError as e:
        assert e.status_code == 422

    got = svix.message.get(app.id, msg.id)
    assert got.event_id == "sdk-evt-1"
    msgs = svix.message.list(app.id, MessageListOptions(limit=10))
    assert [m.id for m in msgs.data] == [msg.id]

    wait_for(lambda: len(svix.message_attempt.list_by_msg(app.id, msg.id).data) == 1, "the attempt log")
    attempts = svix.message_attempt.list_by_msg(app.id, msg.id)
    assert attempts.data[0].response_status_code == 200
    attempt = svix.message_attempt.get(app.id, msg.id, attempts.data[0].id)
    assert attempt.endpoint_id == ep.id
    dests = svix.message_attempt.list_attempted_destinations(app.id, msg.id)
    assert dests.data[0].id == ep.id
    by_ep = svix.message_attempt.list_by_endpoint(app.id, ep.id)
    assert len(by_ep.data) == 1

    rotated = svix.endpoint.rotate_secret(app.id, ep.id, EndpointSecretRotateIn())
    assert rotated.key.startswith("whsec_") and rotated.key != secret
    svix.message_attempt.resend(app.id, msg.id, ep.id)
    wait_for(lambda: len(received) == 2, "the resent delivery")
    headers, body = received[1]
    Webhook(secret).verify(body, headers)
    Webhook(rotated.key).verify(body, headers)

    rec = svix.endpoint.recover(app.id, ep.id, RecoverIn(since=datetime.now(timezone.utc) - timedelta(hours=1)))
    assert rec.task == "endpoint.recover"
    stats = svix.endpoint.get_stats(app.id, ep.id)
    assert stats.success == 1, stats

    access = svix.authentication.app_portal_access(app.id, AppPortalAccessIn())
    assert access.url.startswith(os.environ["HOOKLINE_URL"]) and access.token

    svix.endpoint.delete(app.id, ep.id)
    svix.application.delete(app.id)
    try:
        svix.application.get(app.id)
        raise AssertionError("deleted app must be gone")
    except HttpError as e:
        assert e.status_code == 404 and e.code == "not_found"
    print("ALL SDK CHECKS PASSED")


if __name__ == "__main__":
    main()
