import { test, expect } from "@playwright/test";
import { collectConsoleErrors, newAccountWithEndpoint, openTab, shot, startReceiver, verifies } from "./helpers";

test("from signup to a delivered test event", async ({ page }) => {
  const errors = collectConsoleErrors(page);
  const receiver = await startReceiver();
  const id = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const started = Date.now();
  const hydrated = () => page.waitForSelector('[data-hydrated="true"]', { state: "attached" });

  await page.goto("/signup");
  await hydrated();
  await page.getByLabel("Email").fill(`journey-${id}@example.com`);
  await page.getByLabel("Password").fill("a long enough passphrase");
  await page.getByLabel("Organisation name").fill(`Journey ${id}`);
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page).toHaveURL(/\/welcome$/);

  await page.getByRole("link", { name: "Event types" }).click();
  await hydrated();
  await page.getByLabel("Name", { exact: true }).fill("invoice.paid");
  await page.getByLabel("Description").fill("An invoice was paid");
  await page.getByLabel("Example payload (optional)").fill('{"invoiceId": "inv_1", "amount": 4200}');
  await page.getByRole("button", { name: "Create event type" }).click();
  await expect(page.getByRole("cell", { name: "invoice.paid", exact: true })).toBeVisible();

  await page.getByRole("link", { name: "Applications" }).click();
  await hydrated();
  await page.getByLabel("Name", { exact: true }).fill("Shop");
  await page.getByRole("button", { name: "Create" }).click();
  await page.getByRole("link", { name: "Shop" }).click();
  await expect(page.getByRole("heading", { name: "Shop" })).toBeVisible();
  await hydrated();

  await page.getByLabel("URL").fill(receiver.url);
  await page.getByLabel("Description").fill("local receiver");
  await page.getByRole("button", { name: "Add endpoint" }).click();
  await expect(page.getByRole("cell", { name: /127\.0\.0\.1/ })).toBeVisible();
  // the form is empty again, so a second click cannot add the endpoint twice
  await expect(page.getByLabel("URL")).toHaveValue("");
  await openTab(page, "Testing");

  // the payload is pre-filled from the event type's example; a broken one is refused inline
  await expect(page.getByLabel("Payload (JSON)")).toHaveValue(/inv_1/);
  await page.getByLabel("Payload (JSON)").fill("{ not json");
  await page.getByRole("button", { name: "Send test event" }).click();
  await expect(page.getByText("The payload is not valid JSON")).toBeVisible();
  expect(receiver.received).toHaveLength(0);

  await page.getByLabel("Payload (JSON)").fill('{"invoiceId": "inv_1", "amount": 4200}');
  await page.getByRole("button", { name: "Send test event" }).click();
  // straight to the message's timeline, which turns "succeeded" without a reload
  await expect(page).toHaveURL(/\/apps\/app_[^/]+\/msg\/msg_/);
  await hydrated();
  await expect(page.getByRole("region", { name: `Deliveries to ${receiver.url}` }).getByText("succeeded")).toBeVisible();
  await expect.poll(() => receiver.received.length).toBe(1);
  expect(receiver.received[0].body).toBe('{"invoiceId": "inv_1", "amount": 4200}');
  expect(receiver.received[0].headers["webhook-signature"]).toMatch(/^v1,/);
  await expect(page.getByText("HTTP 200")).toBeVisible();
  await shot(page, "timeline");
  // loaded afresh, the timeline renders on the server and hydrates without errors
  await page.reload();
  await hydrated();
  await expect(page.getByText("HTTP 200")).toBeVisible();
  await page.getByRole("link", { name: /Shop/ }).click();
  await openTab(page, "Messages");
  await expect(page.getByText("1 succeeded")).toBeVisible();
  await openTab(page, "Endpoints");

  // step 6: reveal the secret, check the delivery's signature with it, rotate
  await hydrated();
  await expect(page.getByTestId("current-secret")).toHaveCount(0);
  await page.getByRole("button", { name: "Reveal" }).click();
  const secret = (await page.getByTestId("current-secret").textContent())!.trim();
  expect(secret).toMatch(/^whsec_/);
  expect(verifies(secret, receiver.received[0].headers, receiver.received[0].body)).toBe(true);
  await page.getByRole("button", { name: "Rotate" }).click();
  await expect(page.getByTestId("previous-secret")).toHaveText(secret);
  const rotated = (await page.getByTestId("current-secret").textContent())!.trim();
  expect(rotated).not.toBe(secret);
  await shot(page, "secrets-rotated");
  console.log(`signup to a delivered, succeeded test event: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  await shot(page, "app-page");
  receiver.close();
  // the deliberate bad payload answers 422, which the browser logs; nothing else may error
  const unexpected = errors.filter((e) => !(e.includes("send_test_event") && e.includes("status of 422")));
  expect(unexpected, unexpected.join("\n")).toEqual([]);
});

test("a failing endpoint shows its failed attempt and next retry, then turns green live", async ({ page }) => {
  const receiver = await startReceiver(1);
  const hydrated = await newAccountWithEndpoint(page, "Retry", "order.shipped", "Flaky", receiver.url);
  await openTab(page, "Testing");
  await page.getByRole("button", { name: "Send test event" }).click();
  await expect(page).toHaveURL(/\/msg\/msg_/);
  await hydrated();
  const block = page.getByRole("region", { name: `Deliveries to ${receiver.url}` });
  await expect(block.getByText("HTTP 500")).toBeVisible();
  await expect(block.getByText("E_HTTP")).toBeVisible();
  await expect(block.getByText(/Next attempt at .* \(in \d+ s\)/)).toBeVisible();
  await shot(page, "timeline-retrying");
  // the first retry (4 s +-20% in the e2e server's schedule) succeeds; the page follows without a reload
  await expect(block.getByText("succeeded")).toBeVisible({ timeout: 15_000 });
  await expect(block.getByText("HTTP 200")).toBeVisible();
  expect(receiver.received.length).toBe(2);
  expect(receiver.received[1].headers["webhook-id"]).toBe(receiver.received[0].headers["webhook-id"]);
  await shot(page, "timeline-recovered");
  receiver.close();
});

test("resend after fixing the receiver turns a failed delivery green", async ({ page }) => {
  const receiver = await startReceiver(1);
  const hydrated = await newAccountWithEndpoint(page, "Resend", "user.created", "Replays", receiver.url);
  await openTab(page, "Testing");
  await page.getByRole("button", { name: "Send test event" }).click();
  await expect(page).toHaveURL(/\/msg\/msg_/);
  await hydrated();
  const block = page.getByRole("region", { name: `Deliveries to ${receiver.url}` });
  await expect(block.getByText("HTTP 500")).toBeVisible();
  // the receiver answers 200 from now on; resend instead of waiting for the retry
  await block.getByRole("button", { name: "Resend" }).click();
  await expect(block.getByText("succeeded")).toBeVisible({ timeout: 4_000 });
  await expect(block.getByText("manual")).toBeVisible();
  await shot(page, "timeline-resent");
  receiver.close();
});
