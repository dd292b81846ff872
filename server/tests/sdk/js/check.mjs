// Drives Hookline with the official Svix JavaScript SDK (npm `svix`, pinned in package.json),
// unmodified. Run by the Rust integration test `sdk.rs` with HOOKLINE_URL and HOOKLINE_KEY set.
// Starts receivers on 127.0.0.1 and checks that filters and channels really route (who did and
// did not receive), headers, secrets and rotation, messages, attempts, resend, recover,
// replay-missing, background tasks, portal access, pagination both ways and the SDK's own
// errors; deliveries are verified with the SDK's `Webhook`. Prints one line per passed check.
import http from "node:http";
import assert from "node:assert/strict";
import { Svix, Webhook, ApiException } from "svix";

let passed = 0;
const check = async (name, fn) => {
  await fn();
  passed += 1;
  console.log(`ok ${passed} ${name}`);
};

function receiver() {
  const got = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(200).end("ok");
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({ got, url: `http://127.0.0.1:${server.address().port}/hook`, close: () => { server.close(); server.closeAllConnections(); } })));
}

async function waitFor(pred, what, secs = 15) {
  const end = Date.now() + secs * 1000;
  while (Date.now() < end) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function status(promise) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof ApiException, `not an ApiException: ${e}`);
    return e.code;
  }
  throw new Error("expected an error");
}

const svix = new Svix(process.env.HOOKLINE_KEY, { serverUrl: process.env.HOOKLINE_URL });
const [all, paid, eu] = await Promise.all([receiver(), receiver(), receiver()]);
let app, epAll, epPaid, epEu, msg, secret;

await check("health", () => svix.health.get());
await check("event types", async () => {
  await svix.eventType.create({ name: "invoice.paid", description: "An invoice was paid" });
  await svix.eventType.create({ name: "user.created", description: "A user signed up", groupName: "users" });
  const et = await svix.eventType.get("user.created");
  assert.equal(et.groupName, "users");
  const list = await svix.eventType.list();
  assert.deepEqual(list.data.map((e) => e.name).sort(), ["invoice.paid", "user.created"]);
});
await check("applications", async () => {
  app = await svix.application.create({ name: "JS app", uid: "js-app" });
  assert.match(app.id, /^app_/);
  assert.equal((await svix.application.get("js-app")).id, app.id);
  assert.equal((await svix.application.getOrCreate({ name: "JS app", uid: "js-app" })).id, app.id);
  assert.equal((await svix.application.patch(app.id, { name: "Renamed" })).name, "Renamed");
});
await check("endpoints with a filter and a channel", async () => {
  epAll = await svix.endpoint.create(app.id, { url: all.url, description: "everything" });
  epPaid = await svix.endpoint.create(app.id, { url: paid.url, filterTypes: ["invoice.paid"] });
  assert.deepEqual(epPaid.filterTypes, ["invoice.paid"]);
  epEu = await svix.endpoint.create(app.id, { url: eu.url, channels: ["eu"] });
  assert.deepEqual((await svix.endpoint.get(app.id, epPaid.id)).filterTypes, ["invoice.paid"]);
});
await check("headers", async () => {
  await svix.endpoint.updateHeaders(app.id, epAll.id, { headers: { "X-From": "js" } });
  assert.deepEqual((await svix.endpoint.getHeaders(app.id, epAll.id)).headers, { "X-From": "js" });
});
await check("messages really route by filter and channel", async () => {
  secret = (await svix.endpoint.getSecret(app.id, epAll.id)).key;
  assert.match(secret, /^whsec_/);
  msg = await svix.message.create(app.id, { eventType: "user.created", payload: { id: 1 }, eventId: "js-evt-1", tags: ["t1"] });
  const paidMsg = await svix.message.create(app.id, { eventType: "invoice.paid", payload: { amount: 7 } });
  const euMsg = await svix.message.create(app.id, { eventType: "user.created", payload: { id: 2 }, channels: ["eu"] });
  await waitFor(() => all.got.length === 3 && paid.got.length === 1 && eu.got.length === 1, "the deliveries");
  assert.equal(paid.got[0].headers["webhook-id"], paidMsg.id, "the filtered endpoint got only invoice.paid");
  assert.equal(eu.got[0].headers["webhook-id"], euMsg.id, "the channel endpoint got only the eu message");
  const wh = new Webhook(secret);
  for (const r of all.got) wh.verify(r.body, r.headers);
  assert.equal(all.got[0].headers["x-from"], "js");
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(paid.got.length, 1, "no other message reached the filtered endpoint");
  assert.equal(eu.got.length, 1, "no other message reached the channel endpoint");
});
await check("message lists, tags and get", async () => {
  assert.equal((await svix.message.get(app.id, msg.id)).eventId, "js-evt-1");
  const tagged = await svix.message.list(app.id, { tag: "t1" });
  assert.deepEqual(tagged.data.map((m) => m.id), [msg.id]);
});
await check("errors are the SDK's own with the right status", async () => {
  assert.equal(await status(svix.message.create(app.id, { eventType: "user.created", payload: {}, eventId: "js-evt-1" })), 409);
  assert.equal(await status(svix.message.create(app.id, { eventType: "not a name!", payload: {} })), 422);
  assert.equal(await status(svix.application.get("app_missing")), 404);
});
await check("attempts", async () => {
  await waitFor(async () => (await svix.messageAttempt.listByMsg(app.id, msg.id)).data.length === 1, "the attempt log");
  const byMsg = await svix.messageAttempt.listByMsg(app.id, msg.id);
  assert.ok(byMsg.data.every((a) => a.responseStatusCode === 200));
  const a = await svix.messageAttempt.get(app.id, msg.id, byMsg.data[0].id);
  assert.equal(a.msgId, msg.id);
  const byEp = await svix.messageAttempt.listByEndpoint(app.id, epAll.id, { withMsg: true });
  assert.equal(byEp.data.length, 3);
  assert.ok(byEp.data.every((x) => x.msg && x.msg.id === x.msgId));
  const dests = await svix.messageAttempt.listAttemptedDestinations(app.id, msg.id);
  assert.deepEqual(dests.data.map((d) => d.id), [epAll.id], "only the unfiltered endpoint was meant to get it");
  const msgs = await svix.messageAttempt.listAttemptedMessages(app.id, epPaid.id);
  assert.equal(msgs.data.length, 1);
});
await check("secret rotation signs with both keys", async () => {
  const rotated = await svix.endpoint.rotateSecret(app.id, epAll.id, {});
  const newKey = (await svix.endpoint.getSecret(app.id, epAll.id)).key;
  assert.notEqual(newKey, secret);
  await svix.messageAttempt.resend(app.id, msg.id, epAll.id);
  await waitFor(() => all.got.length === 4, "the resent delivery");
  new Webhook(secret).verify(all.got[3].body, all.got[3].headers);
  new Webhook(newKey).verify(all.got[3].body, all.got[3].headers);
  void rotated;
});
await check("recover and replay-missing are background tasks", async () => {
  const since = new Date(Date.now() - 3600_000);
  const rec = await svix.endpoint.recover(app.id, epAll.id, { since });
  assert.equal(rec.task, "endpoint.recover");
  const late = await receiver();
  const epLate = await svix.endpoint.create(app.id, { url: late.url, filterTypes: ["invoice.paid"] });
  const rep = await svix.endpoint.replayMissing(app.id, epLate.id, { since });
  const task = await svix.backgroundTask.get(rep.id);
  assert.equal(task.status, "finished");
  assert.equal(task.data.messagesQueued, 1);
  await waitFor(() => late.got.length === 1, "the replayed message");
  const tasks = await svix.backgroundTask.list({ limit: 10 });
  assert.equal(tasks.data.length, 2);
  late.close();
});
await check("portal access and app-scoped tokens", async () => {
  const access = await svix.authentication.appPortalAccess(app.id, { featureFlags: [] });
  assert.ok(access.url.startsWith(process.env.HOOKLINE_URL) && access.token.startsWith("appsk_"));
  const scoped = new Svix(access.token, { serverUrl: process.env.HOOKLINE_URL });
  assert.equal((await scoped.endpoint.list(app.id)).data.length, 4);
  const other = await svix.application.create({ name: "Other" });
  assert.equal(await status(scoped.endpoint.list(other.id)), 404);
  await scoped.authentication.logout();
  assert.equal(await status(scoped.endpoint.list(app.id)), 401);
  const dash = await svix.authentication.dashboardAccess(app.id);
  assert.ok(dash.token.startsWith("appsk_"));
  await svix.application.delete(other.id);
});
await check("pagination both ways", async () => {
  for (let i = 0; i < 4; i++) await svix.application.create({ name: `page-${i}` });
  const first = await svix.application.list({ limit: 2 });
  assert.equal(first.data.length, 2);
  assert.equal(first.done, false);
  const second = await svix.application.list({ limit: 2, iterator: first.iterator });
  assert.equal(second.data.length, 2);
  assert.ok(!second.data.some((a) => first.data.some((b) => b.id === a.id)));
  const back = await svix.application.list({ limit: 2, iterator: second.prevIterator });
  assert.deepEqual(back.data.map((a) => a.id), first.data.map((a) => a.id));
});
await check("deletes", async () => {
  await svix.endpoint.delete(app.id, epEu.id);
  await svix.application.delete(app.id);
  assert.equal(await status(svix.application.get(app.id)), 404);
});
for (const r of [all, paid, eu]) r.close();
console.log(`ALL ${passed} JS SDK CHECKS PASSED`);
// Hookline keeps idle connections to the receivers in its pool; nothing else is pending.
process.exit(0);
