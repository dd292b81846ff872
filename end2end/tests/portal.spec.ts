import { test, expect, type Page } from "@playwright/test";
import { collectConsoleErrors, newAccountWithEndpoint, openTab, shot, startReceiver } from "./helpers";

const hydrated = (page: Page) => page.waitForSelector('[data-hydrated="true"]', { state: "attached" });

/** Sends the pre-filled test event and waits on its timeline until `state` shows. */
async function sendTestEvent(page: Page, url: string, state: string, timeout = 10_000) {
  if (!(await page.getByRole("button", { name: "Send test event" }).isVisible())) await openTab(page, "Testing");
  await page.getByRole("button", { name: "Send test event" }).click();
  await expect(page).toHaveURL(/\/msg\/msg_/);
  await hydrated(page);
  await expect(page.getByRole("region", { name: `Deliveries to ${url}` }).getByText(state)).toBeVisible({ timeout });
}

test("the endpoint page: charts, attempts, edit with custom headers, disable, delete", async ({ page }) => {
  const errors = collectConsoleErrors(page);
  const receiver = await startReceiver();
  await newAccountWithEndpoint(page, "Endpoint", "invoice.paid", "Billing", receiver.url);
  const appUrl = page.url();
  await expect(page.getByRole("table", { name: "Endpoints" }).getByText("healthy")).toBeVisible();
  await sendTestEvent(page, receiver.url, "succeeded");

  // from the timeline to the endpoint's own page
  await page.getByRole("link", { name: receiver.url }).click();
  await expect(page).toHaveURL(/\/endpoint\/ep_/);
  await hydrated(page);
  await expect(page.getByTestId("breaker")).toContainText("Closed");
  await expect(page.getByTestId("success-chart")).toHaveAttribute("aria-label", "Last hour: 1 of 1 attempts succeeded (100.0%).");
  await expect(page.getByTestId("success-chart").locator("rect")).toHaveCount(1);
  await expect(page.getByTestId("latency-chart").locator("polyline.p50")).toHaveAttribute("points", /\d/);
  await expect(page.getByRole("region", { name: "Attempts" }).getByText("HTTP 200")).toBeVisible();
  await page.getByRole("link", { name: "Last week" }).click();
  await expect(page).toHaveURL(/range=week/);
  await expect(page.getByTestId("success-chart")).toHaveAttribute("aria-label", /^Last week: 1 of 1/);
  await shot(page, "endpoint-page");

  // edit: a bad header line is refused inline, then a good edit is saved and used
  await hydrated(page);
  const settings = page.getByRole("region", { name: "Settings" });
  await settings.getByLabel(/Custom headers/).fill("X-Team billing");
  await settings.getByRole("button", { name: "Save changes" }).click();
  await expect(settings.getByText('Line 1 should look like "X-Name: value".')).toBeVisible();
  await settings.getByLabel(/Custom headers/).fill("X-Team: billing");
  await settings.getByLabel("Description").fill("billing receiver");
  await settings.getByRole("button", { name: "Save changes" }).click();
  await expect(settings.getByText("Saved.")).toBeVisible();
  await page.reload();
  await hydrated(page);
  await expect(page.getByRole("region", { name: "Settings" }).getByLabel(/Custom headers/)).toHaveValue("X-Team: billing\n");
  await expect(page.getByText("billing receiver").first()).toBeVisible();

  // disable, and back
  await page.getByRole("button", { name: "Disable endpoint" }).click();
  await expect(page.getByRole("heading", { level: 1 }).getByText("disabled")).toBeVisible();
  await page.getByRole("button", { name: "Enable endpoint" }).click();
  await expect(page.getByRole("heading", { level: 1 }).getByText("enabled")).toBeVisible();

  // the next delivery carries the custom header
  await page.goto(appUrl);
  await hydrated(page);
  await sendTestEvent(page, receiver.url, "succeeded");
  expect(receiver.received.at(-1)!.headers["x-team"]).toBe("billing");

  // delete needs the confirmation box
  await page.getByRole("link", { name: receiver.url }).click();
  await hydrated(page);
  const danger = page.getByRole("region", { name: "Delete this endpoint" });
  await danger.getByRole("button", { name: "Delete endpoint" }).click();
  await expect(danger.getByText("Tick the box to confirm")).toBeVisible();
  await danger.getByLabel(/Yes, delete it/).check();
  await danger.getByRole("button", { name: "Delete endpoint" }).click();
  await expect(page).toHaveURL(/\/apps\/app_[^/]+$/);
  await expect(page.getByText("No endpoints yet")).toBeVisible();
  receiver.close();
  const unexpected = errors.filter((e) => !e.includes("status of 422"));
  expect(unexpected, unexpected.join("\n")).toEqual([]);
});

test("recover failed since a time re-sends the dead letters and shows the progress", async ({ page }) => {
  const errors = collectConsoleErrors(page);
  const receiver = await startReceiver();
  receiver.setFailing(true);
  await newAccountWithEndpoint(page, "Recover", "order.created", "Orders", receiver.url);
  // three attempts (the e2e server's schedule is 4 s, 4 s), then the message is failed for good
  await sendTestEvent(page, receiver.url, "failed", 20_000);
  // the application page says how the endpoint is doing
  await page.getByRole("link", { name: /Orders/ }).click();
  await expect(page.getByRole("table", { name: "Endpoints" }).getByText("failing (3 in a row)")).toBeVisible();
  await page.getByRole("table", { name: "Endpoints" }).getByRole("link", { name: receiver.url }).click();
  await hydrated(page);
  await expect(page.getByTestId("success-chart")).toHaveAttribute("aria-label", /0 of 3 attempts succeeded/);
  receiver.setFailing(false);
  const recover = page.getByRole("region", { name: "Recover failed messages" });
  await expect(recover.getByLabel("Failed since (UTC)")).toHaveValue(/^\d{4}-\d\d-\d\dT\d\d:\d\d$/);
  await recover.getByRole("button", { name: "Recover" }).click();
  await expect(recover.getByTestId("recover-result")).toHaveText("Queued 1 failed delivery again.");
  await expect(recover.getByTestId("recover-progress")).toHaveText("Since then: 1 succeeded, 0 pending, 0 failed. Done.");
  // once it settles, the page's chart and attempts show the outcome too
  await expect(page.getByTestId("success-chart")).toHaveAttribute("aria-label", /1 of 4 attempts succeeded/);
  await expect(page.getByRole("region", { name: "Attempts" }).getByText("manual")).toBeVisible();
  await expect.poll(() => receiver.received.length).toBe(4);
  await shot(page, "endpoint-recovered");
  receiver.close();
  expect(errors, errors.join("\n")).toEqual([]);
});

test("replay missing sends a later endpoint the messages it never had", async ({ page }) => {
  const errors = collectConsoleErrors(page);
  const first = await startReceiver();
  const later = await startReceiver();
  await newAccountWithEndpoint(page, "Replay", "order.created", "Shop", first.url);
  const appUrl = page.url();
  await sendTestEvent(page, first.url, "succeeded");
  // a second endpoint, added after the message was sent, never had it
  await page.goto(appUrl);
  await hydrated(page);
  await page.getByLabel("URL").fill(later.url);
  await page.getByRole("button", { name: "Add endpoint" }).click();
  await page.getByRole("table", { name: "Endpoints" }).getByRole("link", { name: later.url }).click();
  await expect(page).toHaveURL(/\/endpoint\/ep_/);
  await hydrated(page);
  const replay = page.getByRole("region", { name: "Replay missing messages" });
  await expect(replay.getByLabel("Missing since (UTC)")).toHaveValue(/^\d{4}-\d\d-\d\dT\d\d:\d\d$/);
  await replay.getByRole("button", { name: "Replay missing" }).click();
  await expect(replay.getByTestId("replay-result")).toContainText("Queued 1 missing message.");
  await expect.poll(() => later.received.length).toBe(1);
  expect(later.received[0].headers["webhook-id"]).toBe(first.received[0].headers["webhook-id"]);
  // nothing is missing any more
  await replay.getByRole("button", { name: "Replay missing" }).click();
  await expect(replay.getByTestId("replay-result")).toContainText("Nothing missing");
  await shot(page, "endpoint-replayed");
  first.close();
  later.close();
  expect(errors, errors.join("\n")).toEqual([]);
});

test("the message log filters by status and event type, and finds a message by id", async ({ page }) => {
  const receiver = await startReceiver();
  await newAccountWithEndpoint(page, "Log", "user.created", "Accounts", receiver.url);
  const appUrl = page.url();
  await sendTestEvent(page, receiver.url, "succeeded");
  const msgId = page.url().split("/msg/")[1];
  await page.goto(appUrl);
  await hydrated(page);
  receiver.setFailing(true);
  await sendTestEvent(page, receiver.url, "HTTP 500");
  await page.goto(`${appUrl}?tab=messages`);
  await page.getByRole("link", { name: /Message log/ }).click();
  await expect(page.getByRole("heading", { name: "Message log" })).toBeVisible();
  await expect(page.getByRole("table", { name: "Messages" }).locator("tbody tr")).toHaveCount(2);

  await page.getByLabel("Delivery status").selectOption("pending");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/status=pending/);
  await expect(page.getByRole("table", { name: "Messages" }).locator("tbody tr")).toHaveCount(1);
  await expect(page.getByText("1 pending")).toBeVisible();
  await shot(page, "message-log-filtered");

  await page.getByLabel("Delivery status").selectOption("");
  await page.getByLabel("Message id or eventId").fill(msgId);
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page.getByRole("table", { name: "Messages" }).locator("tbody tr")).toHaveCount(1);
  await expect(page.getByRole("link", { name: msgId })).toBeVisible();
  await page.getByLabel("Message id or eventId").fill("msg_nothing_like_it");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page.getByText("No message matches these filters.")).toBeVisible();
  await page.getByRole("link", { name: "Clear" }).click();
  await expect(page.getByRole("table", { name: "Messages" }).locator("tbody tr")).toHaveCount(2);
  receiver.close();
});

test("the consumer portal link opens one application without an account, and expires", async ({ page, browser }) => {
  const receiver = await startReceiver();
  await newAccountWithEndpoint(page, "Consumer", "invoice.paid", "Customer Co", receiver.url);
  await sendTestEvent(page, receiver.url, "succeeded");
  await page.getByRole("link", { name: /Customer Co/ }).click();
  await hydrated(page);
  await openTab(page, "Consumer portal");
  // the developer hands out a link...
  await page.getByRole("button", { name: "Get a link to share" }).click();
  const link = (await page.getByTestId("portal-link").textContent())!.trim();
  expect(link).toMatch(/\/portal\/appsk_/);
  // ...and "Open consumer portal" opens the same view in a new tab
  const [preview] = await Promise.all([
    page.context().waitForEvent("page"),
    page.getByRole("button", { name: "Open consumer portal" }).click(),
  ]);
  await preview.waitForLoadState();
  await expect(preview).toHaveURL(/\/portal\/app\/app_/);
  await expect(preview.getByRole("heading", { name: "Customer Co" })).toBeVisible();
  await preview.close();

  // the customer: a fresh browser, no account
  const customer = await browser.newContext();
  const c = await customer.newPage();
  const errors = collectConsoleErrors(c);
  await c.goto(link);
  await expect(c).toHaveURL(/\/portal\/app\/app_[^/]+$/);
  await hydrated(c);
  await expect(c.getByRole("heading", { name: "Customer Co" })).toBeVisible();
  await expect(c.getByRole("link", { name: "API keys" })).toHaveCount(0);
  await expect(c.getByRole("button", { name: "Open consumer portal" })).toHaveCount(0);
  await shot(c, "consumer-portal");
  // its endpoints, secrets, message log, timelines and replay
  await c.getByRole("button", { name: "Reveal" }).click();
  await expect(c.getByTestId("current-secret")).toHaveText(/^whsec_/);
  await openTab(c, "Messages");
  await c.getByRole("link", { name: /Message log/ }).click();
  await expect(c).toHaveURL(/\/portal\/app\/app_[^/]+\/messages$/);
  await c.getByRole("table", { name: "Messages" }).getByRole("link").first().click();
  await expect(c).toHaveURL(/\/portal\/app\/app_[^/]+\/msg\/msg_/);
  await hydrated(c);
  const block = c.getByRole("region", { name: `Deliveries to ${receiver.url}` });
  await expect(block.getByText("succeeded")).toBeVisible();
  await block.getByRole("button", { name: "Resend" }).click();
  await expect(block.getByText("manual")).toBeVisible();
  await expect.poll(() => receiver.received.length).toBe(2);
  await c.getByRole("link", { name: receiver.url }).click();
  await expect(c).toHaveURL(/\/portal\/app\/app_[^/]+\/endpoint\/ep_/);
  await expect(c.getByTestId("breaker")).toContainText("Closed");
  await shot(c, "consumer-endpoint");
  // another application's pages answer "not found" here
  await c.goto("/portal/app/app_someone_elses");
  await expect(c.getByText("That could not be found")).toBeVisible();
  // and the developer pages are not reachable with a portal session
  await c.goto("/apps");
  await expect(c).toHaveURL(/\/login/);
  const unexpected = errors.filter((e) => !e.includes("status of 404"));
  expect(unexpected, unexpected.join("\n")).toEqual([]);
  await customer.close();
  receiver.close();
});

test("a read-only portal link shows deliveries and secrets but offers no changes", async ({ page, browser }) => {
  const receiver = await startReceiver();
  await newAccountWithEndpoint(page, "Watcher", "invoice.paid", "Watched Co", receiver.url);
  await sendTestEvent(page, receiver.url, "succeeded");
  await page.getByRole("link", { name: /Watched Co/ }).click();
  await hydrated(page);
  await openTab(page, "Consumer portal");
  await page.getByLabel("Read-only").check();
  await page.getByRole("button", { name: "Get a link to share" }).click();
  const link = (await page.getByTestId("portal-link").textContent())!.trim();

  const customer = await browser.newContext();
  const c = await customer.newPage();
  const errors = collectConsoleErrors(c);
  await c.goto(link);
  await hydrated(c);
  await expect(c.getByTestId("read-only")).toBeVisible();
  await expect(c.getByRole("heading", { name: "Watched Co" })).toBeVisible();
  await expect(c.getByRole("button", { name: "Add endpoint" })).toHaveCount(0);
  await expect(c.getByRole("button", { name: "Send test event" })).toHaveCount(0);
  await expect(c.getByRole("button", { name: "Rotate" })).toHaveCount(0);
  await c.getByRole("button", { name: "Reveal" }).click();
  await expect(c.getByTestId("current-secret")).toHaveText(/^whsec_/);
  await shot(c, "consumer-read-only");
  await openTab(c, "Messages");
  await c.getByRole("link", { name: /Message log/ }).click();
  await c.getByRole("table", { name: "Messages" }).getByRole("link").first().click();
  await hydrated(c);
  const block = c.getByRole("region", { name: `Deliveries to ${receiver.url}` });
  await expect(block.getByText("succeeded")).toBeVisible();
  await expect(block.getByRole("button", { name: "Resend" })).toHaveCount(0);
  await c.getByRole("link", { name: receiver.url }).click();
  await hydrated(c);
  await expect(c.getByTestId("breaker")).toContainText("Closed");
  for (const name of ["Disable endpoint", "Save changes", "Delete endpoint", "Recover", "Replay missing"]) {
    await expect(c.getByRole("button", { name })).toHaveCount(0);
  }
  expect(errors, errors.join("\n")).toEqual([]);
  await customer.close();
  receiver.close();
});

test("a forged portal link gets a clear refusal page", async ({ page }) => {
  const r = await page.goto("/portal/appsk_forged_token");
  expect(r!.status()).toBe(401);
  await expect(page.getByRole("heading", { name: "This portal link cannot be opened" })).toBeVisible();
  await expect(page.getByText("invalid or has expired")).toBeVisible();
});

test("an event type is edited in place, and its new example pre-fills a test event to one endpoint", async ({ page }) => {
  const receiver = await startReceiver();
  await newAccountWithEndpoint(page, "Types", "invoice.paid", "Invoices", receiver.url);
  const appUrl = page.url();
  await page.goto("/event-types");
  await hydrated(page);
  await page.getByRole("link", { name: "Edit invoice.paid" }).click();
  await expect(page).toHaveURL(/\?edit=invoice\.paid/);
  const edit = page.getByRole("region", { name: "Edit invoice.paid" });
  await edit.getByLabel("Description").fill("An invoice was paid in full");
  await edit.getByLabel("Example payload").fill('{"invoiceId": "inv_77"}');
  await edit.getByRole("button", { name: "Save event type" }).click();
  await expect(edit.getByText("Saved.")).toBeVisible();
  await expect(page.getByRole("cell", { name: "An invoice was paid in full" })).toBeVisible();
  await shot(page, "event-type-edit");

  await page.goto(`${appUrl}?tab=testing`);
  await hydrated(page);
  await expect(page.getByLabel("Payload (JSON)")).toHaveValue(/inv_77/);
  await page.getByLabel("Send to").selectOption({ label: `Only ${receiver.url}` });
  await sendTestEvent(page, receiver.url, "succeeded");
  expect(JSON.parse(receiver.received[0].body)).toEqual({ invoiceId: "inv_77" });
  receiver.close();
});
