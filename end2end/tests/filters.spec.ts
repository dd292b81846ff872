import { test, expect } from "@playwright/test";
import { collectConsoleErrors, newAccountWithEndpoint, openTab, shot, startReceiver } from "./helpers";

test("a payload filter: tried as typed, refused in words when wrong, saved, and only matching messages arrive", async ({ page }) => {
  const errors = collectConsoleErrors(page);
  const receiver = await startReceiver();
  const hydrated = await newAccountWithEndpoint(page, "Filter", "order.paid", "Shop", receiver.url);
  await page.getByRole("link", { name: receiver.url }).first().click();
  await hydrated();
  await expect(page.getByRole("heading", { name: "Settings" })).toBeVisible();

  const filter = page.getByLabel("Payload filter (optional)");
  await filter.fill("payload.amount >= 100 && \"eu\" in channels");
  const payload = page.getByLabel("Payload (JSON; leave empty for the event type's example)");
  await payload.fill('{"amount": 250}');
  await page.getByLabel("Channels (comma-separated, optional)", { exact: true }).last().fill("eu");
  await page.getByRole("button", { name: "Try it" }).click();
  await expect(page.getByTestId("filter-result")).toContainText("Passes: this endpoint would get the message.");
  await payload.fill('{"amount": 5}');
  await page.getByRole("button", { name: "Try it" }).click();
  await expect(page.getByTestId("filter-result")).toContainText("Does not pass");
  await shot(page, "filter-try");

  // a broken filter is refused where it is typed, and nothing is saved
  await filter.fill("payload.amount >=");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByText(/The filter is not valid CEL: line 1, column \d+/)).toBeVisible();
  await shot(page, "filter-invalid");
  await filter.fill("payload.amount >= 100");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByText("Saved.")).toBeVisible();
  await page.reload();
  await hydrated();
  await expect(page.getByLabel("Payload filter (optional)")).toHaveValue("payload.amount >= 100");

  // test events: the one the filter refuses never arrives, the one it passes does
  await page.getByRole("link", { name: /Shop/ }).click();
  // the endpoint list says the endpoint is filtered, and by what
  await expect(page.getByRole("table", { name: "Endpoints" })).toContainText("only if payload.amount >= 100");
  await shot(page, "endpoint-list-filter");
  await openTab(page, "Testing");
  await page.getByLabel("Payload (JSON)").fill('{"amount": 5}');
  await page.getByRole("button", { name: "Send test event" }).click();
  await expect(page).toHaveURL(/\/msg\/msg_/);
  await hydrated();
  await expect(page.getByText("No endpoint was subscribed to this message")).toBeVisible();
  await page.getByRole("link", { name: /Shop/ }).click();
  await openTab(page, "Testing");
  await page.getByLabel("Payload (JSON)").fill('{"amount": 500}');
  await page.getByRole("button", { name: "Send test event" }).click();
  await expect(page).toHaveURL(/\/msg\/msg_/);
  await expect.poll(() => receiver.received.length).toBe(1);
  expect(JSON.parse(receiver.received[0].body)).toEqual({ amount: 500 });
  receiver.close();
  // the deliberate broken filter answers 422, which the browser logs; nothing else may error
  const unexpected = errors.filter((e) => !(e.includes("update_endpoint") && e.includes("status of 422")));
  expect(unexpected, unexpected.join("\n")).toEqual([]);
});
