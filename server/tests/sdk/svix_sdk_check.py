"""Drives Hookline with the official Svix Python SDK (PyPI `svix`, pinned in scripts/setup.sh),
unmodified.

Run by the Rust integration test `sdk.rs` with HOOKLINE_URL and HOOKLINE_KEY set. Starts
receivers on 127.0.0.1 and checks that filters and channels really route (who did and did not
receive), headers, secrets and rotation, messages, tags, attempts, resend, recover,
replay-missing, background tasks, portal access and app-scoped tokens, pagination both ways, raw
payloads and the SDK's own errors; deliveries are verified with the SDK's `Webhook`. Prints one line per
passed check; any failed check raises, which fails the test.
"""
import http.server
import json
import os
import threading
import time
from datetime import datetime, timedelta, timezone

from svix.api import (
    ApplicationIn, ApplicationListOptions, ApplicationPatch, AppPortalAccessIn,
    BackgroundTaskListOptions, EndpointHeadersIn, EndpointIn, EndpointPatch,
    EndpointSecretRotateIn, EventTypeIn, MessageAttemptListByEndpointOptions, MessageIn,
    MessageListOptions, OperationalWebhookEndpointHeadersIn, OperationalWebhookEndpointIn,
    OperationalWebhookEndpointSecretIn, OperationalWebhookEndpointUpsertIn, RecoverIn, ReplayIn,
    Svix, SvixOptions,
)
from svix.api.message import message_in_raw
from svix.exceptions import HttpError, HTTPValidationError
from svix.webhooks import Webhook

URL = os.environ["HOOKLINE_URL"]
passed = 0


def check(name):
    def run(fn):
        global passed
        fn()
        passed += 1
        print(f"ok {passed} {name}", flush=True)
    return run


class Receiver:
    """A loopback HTTP server that records what it receives."""

    def __init__(self):
        self.got = []
        got = self.got

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                got.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self):
        self.server.shutdown()


def wait_for(predicate, what, secs=15):
    deadline = time.time() + secs
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def status_of(call):
    """The HTTP status of the SDK's own exception for `call`, which must fail."""
    try:
        call()
    except (HttpError, HTTPValidationError) as e:
        return e.status_code
    raise AssertionError("expected the SDK to raise")


svix = Svix(os.environ["HOOKLINE_KEY"], SvixOptions(server_url=URL))
everything, paid, eu, ops = Receiver(), Receiver(), Receiver(), Receiver()
s = {}  # what later checks use


@check("health")
def _():
    svix.health.get()


@check("event types")
def _():
    svix.event_type.create(EventTypeIn(name="invoice.paid", description="An invoice was paid"))
    svix.event_type.create(EventTypeIn(name="user.created", description="A user", group_name="users"))
    assert svix.event_type.get("user.created").group_name == "users"
    names = sorted(e.name for e in svix.event_type.list().data)
    assert names == ["invoice.paid", "user.created"], names


@check("applications")
def _():
    app = svix.application.create(ApplicationIn(name="SDK app", uid="sdk-app"))
    assert app.id.startswith("app_"), app.id
    assert svix.application.get("sdk-app").id == app.id
    assert svix.application.get_or_create(ApplicationIn(name="SDK app", uid="sdk-app")).id == app.id
    assert svix.application.patch(app.id, ApplicationPatch(name="Renamed")).name == "Renamed"
    s["app"] = app.id


@check("endpoints with a filter and a channel")
def _():
    app = s["app"]
    s["all"] = svix.endpoint.create(app, EndpointIn(url=everything.url, description="everything")).id
    ep = svix.endpoint.create(app, EndpointIn(url=paid.url, event_types=["invoice.paid"]))
    # Python 2.x reads the filter as eventTypes: it must see the filter it set
    assert ep.event_types == ["invoice.paid"], ep.event_types
    assert svix.endpoint.get(app, ep.id).event_types == ["invoice.paid"]
    s["paid"] = ep.id
    s["eu"] = svix.endpoint.create(app, EndpointIn(url=eu.url, channels=["eu"])).id
    patched = svix.endpoint.patch(app, s["all"], EndpointPatch(description="patched"))
    assert patched.description == "patched" and patched.event_types is None


@check("headers")
def _():
    svix.endpoint.set_headers(s["app"], s["all"], EndpointHeadersIn(headers={"X-From": "sdk"}))
    assert svix.endpoint.get_headers(s["app"], s["all"]).headers == {"X-From": "sdk"}


@check("messages really route by filter and channel")
def _():
    app = s["app"]
    s["secret"] = svix.endpoint.get_secret(app, s["all"]).key
    assert s["secret"].startswith("whsec_")
    msg = svix.message.create(app, MessageIn(
        event_type="user.created", payload={"id": 1}, event_id="sdk-evt-1", tags=["t1"]))
    assert msg.id.startswith("msg_")
    s["msg"] = msg.id
    paid_msg = svix.message.create(app, MessageIn(event_type="invoice.paid", payload={"amount": 7}))
    eu_msg = svix.message.create(app, MessageIn(event_type="user.created", payload={"id": 2}, channels=["eu"]))
    wait_for(lambda: len(everything.got) == 3 and len(paid.got) == 1 and len(eu.got) == 1, "the deliveries")
    assert paid.got[0][0]["webhook-id"] == paid_msg.id, "the filtered endpoint got only invoice.paid"
    assert eu.got[0][0]["webhook-id"] == eu_msg.id, "the channel endpoint got only the eu message"
    for headers, body in everything.got:
        Webhook(s["secret"]).verify(body, headers)
    assert everything.got[0][0].get("x-from") == "sdk"
    time.sleep(0.3)
    assert len(paid.got) == 1 and len(eu.got) == 1, "no other message reached them"


@check("message lists, tags and get")
def _():
    app = s["app"]
    assert svix.message.get(app, s["msg"]).event_id == "sdk-evt-1"
    tagged = svix.message.list(app, MessageListOptions(tag="t1"))
    assert [m.id for m in tagged.data] == [s["msg"]]
    assert len(svix.message.list(app, MessageListOptions(limit=10)).data) == 3


@check("errors are the SDK's own with the right status")
def _():
    app = s["app"]
    dup = MessageIn(event_type="user.created", payload={}, event_id="sdk-evt-1")
    assert status_of(lambda: svix.message.create(app, dup)) == 409
    bad = MessageIn(event_type="not a valid name!", payload={})
    assert status_of(lambda: svix.message.create(app, bad)) == 422
    try:
        svix.application.get("app_missing")
        raise AssertionError("an unknown app must fail")
    except HttpError as e:
        assert e.status_code == 404 and e.code == "not_found", (e.status_code, e.code)


@check("attempts")
def _():
    app, msg = s["app"], s["msg"]
    wait_for(lambda: len(svix.message_attempt.list_by_msg(app, msg).data) == 1, "the attempt log")
    by_msg = svix.message_attempt.list_by_msg(app, msg)
    assert by_msg.data[0].response_status_code == 200
    attempt = svix.message_attempt.get(app, msg, by_msg.data[0].id)
    assert attempt.msg_id == msg and attempt.endpoint_id == s["all"]
    by_ep = svix.message_attempt.list_by_endpoint(
        app, s["all"], MessageAttemptListByEndpointOptions(with_msg=True))
    assert len(by_ep.data) == 3
    assert all(a.msg is not None and a.msg.id == a.msg_id for a in by_ep.data)
    dests = svix.message_attempt.list_attempted_destinations(app, msg)
    assert [d.id for d in dests.data] == [s["all"]], "only the unfiltered endpoint was meant to get it"
    assert len(svix.message_attempt.list_attempted_messages(app, s["paid"]).data) == 1


@check("secret rotation signs with both keys")
def _():
    app, old = s["app"], s["secret"]
    svix.endpoint.rotate_secret(app, s["all"], EndpointSecretRotateIn())
    new = svix.endpoint.get_secret(app, s["all"]).key
    assert new.startswith("whsec_") and new != old
    svix.message_attempt.resend(app, s["msg"], s["all"])
    wait_for(lambda: len(everything.got) == 4, "the resent delivery")
    headers, body = everything.got[3]
    Webhook(old).verify(body, headers)
    Webhook(new).verify(body, headers)


@check("recover and replay-missing are background tasks")
def _():
    app = s["app"]
    since = datetime.now(timezone.utc) - timedelta(hours=1)
    rec = svix.endpoint.recover(app, s["all"], RecoverIn(since=since))
    assert rec.task == "endpoint.recover"
    late = Receiver()
    ep = svix.endpoint.create(app, EndpointIn(url=late.url, event_types=["invoice.paid"])).id
    rep = svix.endpoint.replay_missing(app, ep, ReplayIn(since=since))
    task = svix.background_task.get(rep.id)
    assert task.status == "finished", task.status
    assert task.data["messagesQueued"] == 1, task.data
    wait_for(lambda: len(late.got) == 1, "the replayed message")
    assert late.got[0][0]["webhook-id"] != s["msg"], "only the invoice.paid message is replayed"
    assert len(svix.background_task.list(BackgroundTaskListOptions(limit=10)).data) == 2
    late.close()
    s["late"] = ep


@check("stats")
def _():
    stats = svix.endpoint.get_stats(s["app"], s["paid"])
    assert stats.success == 1 and stats.fail == 0, stats


@check("portal access and app-scoped tokens")
def _():
    app = s["app"]
    access = svix.authentication.app_portal_access(app, AppPortalAccessIn())
    assert access.url.startswith(URL) and access.token.startswith("appsk_")
    scoped = Svix(access.token, SvixOptions(server_url=URL))
    assert len(scoped.endpoint.list(app).data) == 4
    other = svix.application.create(ApplicationIn(name="Other"))
    assert status_of(lambda: scoped.endpoint.list(other.id)) == 404
    scoped.authentication.logout()
    assert status_of(lambda: scoped.endpoint.list(app)) == 401
    svix.application.delete(other.id)


@check("pagination both ways")
def _():
    for i in range(4):
        svix.application.create(ApplicationIn(name=f"page-{i}"))
    first = svix.application.list(ApplicationListOptions(limit=2))
    assert len(first.data) == 2 and not first.done
    second = svix.application.list(ApplicationListOptions(limit=2, iterator=first.iterator))
    assert len(second.data) == 2
    assert not {a.id for a in second.data} & {a.id for a in first.data}
    back = svix.application.list(ApplicationListOptions(limit=2, iterator=second.prev_iterator))
    assert [a.id for a in back.data] == [a.id for a in first.data]


@check("a raw payload is delivered as sent, with its content type")
def _():
    before = len(paid.got)
    raw = message_in_raw("invoice.paid", "<paid amount='7'/>", content_type="application/xml")
    msg = svix.message.create(s["app"], raw)
    wait_for(lambda: len(paid.got) == before + 1, "the raw delivery")
    headers, body = paid.got[-1]
    assert headers["webhook-id"] == msg.id
    assert body == b"<paid amount='7'/>", body
    assert headers["content-type"] == "application/xml", headers
    Webhook(svix.endpoint.get_secret(s["app"], s["paid"]).key).verify(body, headers)
    # not a JSON object, so it reads back as {} (the SDK's model types payload as an object)
    assert svix.message.get(s["app"], msg.id).payload == {}


@check("operational webhooks: the API, and a signed endpoint.created")
def _():
    api = svix.operational_webhook.endpoint
    op = api.create(OperationalWebhookEndpointIn(
        url=ops.url, event_types=["endpoint.created", "endpoint.deleted"], metadata={"team": "ops"}))
    assert op.id.startswith("ep_") and op.event_types == ["endpoint.created", "endpoint.deleted"], op
    assert api.get(op.id).metadata == {"team": "ops"}
    assert [e.id for e in api.list().data] == [op.id]
    api.set_headers(op.id, OperationalWebhookEndpointHeadersIn(headers={"X-Team": "ops"}))
    assert api.get_headers(op.id).headers == {"X-Team": "ops"}
    old = api.get_secret(op.id).key
    api.rotate_secret(op.id, OperationalWebhookEndpointSecretIn())
    secret = api.get_secret(op.id).key
    assert secret != old
    assert api.upsert(op.id, OperationalWebhookEndpointUpsertIn(
        url=ops.url, description="pager", event_types=["endpoint.created"])).description == "pager"
    assert status_of(lambda: api.create(OperationalWebhookEndpointIn(
        url=ops.url, event_types=["invoice.paid"]))) == 422
    ep = svix.endpoint.create(s["app"], EndpointIn(url=eu.url, uid="told"))
    wait_for(lambda: len(ops.got) == 1, "the operational webhook")
    headers, body = ops.got[0]
    Webhook(secret).verify(body, headers)
    event = json.loads(body)
    assert event == {"type": "endpoint.created", "data": {
        "appId": s["app"], "appUid": "sdk-app", "endpointId": ep.id, "endpointUid": "told"}}, event
    svix.endpoint.delete(s["app"], ep.id)
    api.delete(op.id)
    assert status_of(lambda: api.get(op.id)) == 404


@check("deletes")
def _():
    app = s["app"]
    svix.endpoint.delete(app, s["eu"])
    assert status_of(lambda: svix.endpoint.get(app, s["eu"])) == 404
    svix.application.delete(app)
    assert status_of(lambda: svix.application.get(app)) == 404


for r in (everything, paid, eu, ops):
    r.close()
print(f"ALL {passed} SDK CHECKS PASSED")
