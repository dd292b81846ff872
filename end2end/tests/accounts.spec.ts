import { test, expect, type Page } from "@playwright/test";
import { collectConsoleErrors, shot } from "./helpers";

const hydrated = (page: Page) => page.waitForSelector('[data-hydrated="true"]', { state: "attached" });
const unique = () => `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;

test.describe("accounts", () => {
  test("sign up lands on the first-run guide; the apps page creates applications; logout locks it again", async ({ page }) => {
    const errors = collectConsoleErrors(page);
    const id = unique();
    await page.goto("/signup");
    await hydrated(page);
    await page.getByLabel("Email").fill(`dev-${id}@example.com`);
    await page.getByLabel("Password").fill("a long enough passphrase");
    await page.getByLabel("Organisation name").fill(`Org ${id}`);
    await shot(page, "signup-filled");
    await page.getByRole("button", { name: "Sign up" }).click();
    await expect(page).toHaveURL(/\/welcome$/);
    await expect(page.getByRole("heading", { name: "Send your first webhook" })).toBeVisible();
    await expect(page.getByText(`Org ${id}`)).toBeVisible();
    await page.getByRole("link", { name: "Applications" }).click();
    await expect(page.getByRole("heading", { name: "Applications" })).toBeVisible();
    await hydrated(page);

    await page.getByLabel("Name", { exact: true }).fill("Billing service");
    await page.getByLabel("UID (optional)").fill("billing");
    await page.getByRole("button", { name: "Create" }).click();
    await expect(page.getByRole("cell", { name: "Billing service" })).toBeVisible();
    // the form is empty again: a second click cannot make a second "Billing service"
    await expect(page.getByLabel("Name", { exact: true })).toHaveValue("");
    await shot(page, "apps-with-one");

    await page.getByRole("button", { name: "Log out" }).click();
    await expect(page).toHaveURL(/\/login/);
    await page.goto("/apps");
    await expect(page).toHaveURL(/\/login\?next=%2Fapps/);
    expect(errors, errors.join("\n")).toEqual([]);
  });

  test("signup shows what is wrong next to each field", async ({ page }) => {
    await page.goto("/signup");
    await hydrated(page);
    await page.getByLabel("Email").fill("not-an-email");
    await page.getByLabel("Password").fill("short");
    await page.getByRole("button", { name: "Sign up" }).click();
    await expect(page.getByText("Enter a valid email address")).toBeVisible();
    await expect(page.getByText("Use at least 10 characters")).toBeVisible();
    await expect(page).toHaveURL(/\/signup$/);
    await shot(page, "signup-errors");
  });

  test("logging in returns a stranger to the page they asked for", async ({ page, request }) => {
    const id = unique();
    const email = `back-${id}@example.com`;
    // create the account through the signup form endpoint, as a no-JS browser would
    const r = await request.post("/_fn/signup", {
      form: { email, password: "a long enough passphrase", organization: `Back ${id}` },
      headers: { origin: new URL(process.env.HOOKLINE_E2E_BASE_URL ?? "http://127.0.0.1:3000").origin },
      maxRedirects: 0,
    });
    expect(r.status()).toBeLessThan(400);
    await page.goto("/apps");
    await expect(page).toHaveURL(/\/login\?next=%2Fapps/);
    await hydrated(page);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("a long enough passphrase");
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page).toHaveURL(/\/apps$/);
    // without a page to return to, logging in opens the overview
    await page.getByRole("button", { name: "Log out" }).click();
    await expect(page).toHaveURL(/\/login$/);
    await hydrated(page);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("a long enough passphrase");
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page).toHaveURL(/\/overview$/);
  });
});

test("an API key is shown once, listed by its prefix, and can be revoked", async ({ page }) => {
  const id = unique();
  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("Email").fill(`keys-${id}@example.com`);
  await page.getByLabel("Password").fill("a long enough passphrase");
  await page.getByLabel("Organisation name").fill(`Keys ${id}`);
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page).toHaveURL(/\/welcome$/);
  await page.getByRole("link", { name: "API keys" }).click();
  await expect(page.getByRole("heading", { name: "API keys" })).toBeVisible();
  await hydrated(page);
  await page.getByLabel("Key name").fill("billing-backend");
  await page.getByRole("button", { name: "Create key" }).click();
  const key = (await page.locator("#new-api-key").textContent())!.trim();
  expect(key).toMatch(/^sk_/);
  await expect(page.getByRole("cell", { name: "billing-backend" })).toBeVisible();
  await expect(page.getByRole("cell", { name: `${key.slice(0, 10)}…` })).toBeVisible();
  await shot(page, "api-keys");
  // the key works against the REST API
  const res = await page.request.get("/api/v1/app", { headers: { authorization: `Bearer ${key}` } });
  expect(res.status()).toBe(200);
  await page.getByRole("button", { name: "Revoke" }).click();
  await expect(page.getByText("revoked")).toBeVisible();
  const after = await page.request.get("/api/v1/app", { headers: { authorization: `Bearer ${key}` } });
  expect(after.status()).toBe(401);
});
