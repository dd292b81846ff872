import { test, expect, type Page } from "@playwright/test";
import { collectConsoleErrors, newAccountWithEndpoint, shot } from "./helpers";

const hydrated = (page: Page) => page.waitForSelector('[data-hydrated="true"]', { state: "attached" });

test("a key for one application, read-only, is refused elsewhere, and the audit log shows who made and revoked it", async ({ page }) => {
  const errors = collectConsoleErrors(page);
  await newAccountWithEndpoint(page, "Audit", "order.paid", "Shop", "http://127.0.0.1:9/hook");
  const app = new URL(page.url()).pathname.split("/")[2];

  // a key that reaches only the Shop application, and only to read
  await page.getByRole("link", { name: "API keys" }).click();
  await expect(page).toHaveURL(/\/api-keys$/);
  await hydrated(page);
  await page.getByLabel("Key name").fill("shop-dashboard");
  await page.getByLabel("Reaches").selectOption({ label: "Only Shop" });
  await page.getByLabel("Read-only").check();
  await page.getByRole("button", { name: "Create key" }).click();
  const key = (await page.locator("#new-api-key").textContent())!.trim();
  expect(key).toMatch(/^sk_/);
  const row = page.getByRole("table", { name: "API keys" }).getByRole("row", { name: /shop-dashboard/ });
  await expect(row).toContainText("Only Shop");
  await expect(row).toContainText("read-only");
  await shot(page, "api-keys-scoped");

  // what the key reaches, and what it does not
  const auth = { Authorization: `Bearer ${key}` };
  expect((await page.request.get(`/api/v1/app/${app}/endpoint`, { headers: auth })).status()).toBe(200);
  const list = await page.request.get("/api/v1/app", { headers: auth });
  expect(list.status()).toBe(403);
  expect((await list.json()).detail).toContain("one application");
  const send = await page.request.post(`/api/v1/app/${app}/msg`, {
    headers: auth,
    data: { eventType: "order.paid", payload: {} },
  });
  expect(send.status()).toBe(403);
  expect((await send.json()).detail).toContain("read-only");

  await row.getByRole("button", { name: "Revoke" }).click();
  await expect(row).toContainText("revoked");
  expect((await page.request.get(`/api/v1/app/${app}/endpoint`, { headers: auth })).status()).toBe(401);

  // the audit log, from the header
  await page.getByRole("link", { name: "Audit log" }).click();
  await expect(page).toHaveURL(/\/audit-log$/);
  await hydrated(page);
  const rows = page.getByRole("table", { name: "Audit log" }).locator("tbody tr");
  await expect(rows).toHaveCount(4);
  await expect(rows.nth(0)).toContainText("API key revoked");
  await expect(rows.nth(1)).toContainText("API key created");
  await expect(rows.nth(1)).toContainText("read-only");
  await expect(rows.nth(2)).toContainText("Endpoint created");
  await expect(rows.nth(3)).toContainText("Application created");
  await expect(rows.nth(0)).toContainText(/audit-.*@example\.com/);
  await shot(page, "audit-log");

  // filtered by action, then by application
  await page.getByLabel("Action").selectOption({ label: "Endpoint created" });
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/action=endpoint\.created/);
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText("Shop");
  await page.getByRole("link", { name: "Clear" }).click();
  await expect(rows).toHaveCount(4);
  await page.getByLabel("Who").fill("nobody@example.org");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page.getByText("No entry matches these filters.")).toBeVisible();
  expect(errors).toEqual([]);
});
