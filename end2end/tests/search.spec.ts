import { test, expect } from "@playwright/test";
import { collectConsoleErrors, newAccountWithEndpoint, openTab, shot, startReceiver } from "./helpers";

test("the message log finds messages by payload field and word, and explains a search it cannot run", async ({ page }) => {
  const errors = collectConsoleErrors(page);
  const receiver = await startReceiver();
  const hydrated = await newAccountWithEndpoint(page, "Search", "invoice.paid", "Billing", receiver.url);
  const payloads = [
    { customer: { id: "cus_1" }, note: "Card declined" },
    { customer: { id: "cus_2" }, note: "refund issued" },
    { customer: { id: "cus_1" }, note: "Refund issued", lines: [{ sku: "plan-pro" }] },
  ];
  for (const [i, payload] of payloads.entries()) {
    // the first from the application's page, where signing up left us; then back from the message
    if (i > 0) await page.getByRole("link", { name: /Billing/ }).first().click();
    await openTab(page, "Testing");
    await page.getByLabel("Payload (JSON)").fill(JSON.stringify(payload));
    await page.getByRole("button", { name: "Send test event" }).click();
    await expect(page).toHaveURL(/\/msg\/msg_/);
    await hydrated();
  }
  await expect.poll(() => receiver.received.length).toBe(3);

  await page.getByRole("link", { name: /Billing/ }).first().click();
  await openTab(page, "Messages");
  await page.getByRole("link", { name: /Message log/ }).click();
  const rows = page.getByRole("table", { name: "Messages" }).locator("tbody tr");
  await expect(rows).toHaveCount(3);

  const search = page.getByLabel("Payload search");
  await search.fill('customer.id = "cus_1"');
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/search=customer\.id/);
  await expect(rows).toHaveCount(2);
  await search.fill('customer.id = "cus_1" refund');
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(rows).toHaveCount(1);
  await expect(page.getByText("1 succeeded")).toBeVisible();
  await shot(page, "message-search");
  // the message found is the one with the refund for cus_1: its page shows that payload
  await rows.first().getByRole("link").first().click();
  await expect(page.locator("code", { hasText: '"note":"Refund issued","lines":[{"sku":"plan-pro"}]' }).first()).toBeAttached();
  await page.goBack();
  await expect(search).toHaveValue('customer.id = "cus_1" refund');

  await search.fill("lines[].sku = plan-pro");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(rows).toHaveCount(1);
  await search.fill("declined or issued");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(rows).toHaveCount(3);
  // test events carry no channel: a channel filter leaves none
  await page.getByLabel("Channel").fill("eu");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page.getByText("No message matches these filters.")).toBeVisible();
  await page.getByLabel("Channel").fill("");

  // a search that cannot be run says why, under the field, and lists nothing
  await search.fill("amount > 5");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page.getByRole("alert")).toContainText("fields are compared with = only");
  await expect(search).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByText("Nothing was searched: the payload search above needs a change.")).toBeVisible();
  await shot(page, "message-search-invalid");
  // what only the database can tell (words that only exclude) is said in the same place
  await search.fill("-declined");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page.getByRole("alert")).toContainText("only excludes words");
  await expect(page.getByText("Nothing was searched: the payload search above needs a change.")).toBeVisible();
  await page.getByRole("link", { name: "Clear" }).click();
  await expect(rows).toHaveCount(3);
  receiver.close();
  expect(errors, errors.join("\n")).toEqual([]);
});
