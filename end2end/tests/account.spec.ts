import { test, expect, type Page } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { collectConsoleErrors, shot } from "./helpers";

const hydrated = (page: Page) => page.waitForSelector('[data-hydrated="true"]', { state: "attached" });
const unique = () => `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
const PASSWORD = "a long enough passphrase";

async function signUp(page: Page, email: string, org: string) {
  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByLabel("Organisation name").fill(org);
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page).toHaveURL(/\/welcome$/);
}

async function logIn(page: Page, email: string, password: string) {
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}

test("the account page lists your sessions, logs out the others and changes the password", async ({ page, browser }) => {
  const errors = collectConsoleErrors(page);
  const id = unique();
  const email = `acct-${id}@example.com`;
  await signUp(page, email, `Acct ${id}`);
  // a second browser, logged in as the same person
  const other = await browser.newContext();
  const elsewhere = await other.newPage();
  await logIn(elsewhere, email, PASSWORD);
  await expect(elsewhere).toHaveURL(/\/overview$/);

  // the organisation's name in the header leads to the account
  await page.getByRole("link", { name: `Acct ${id}` }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByRole("heading", { name: "Your account" })).toBeVisible();
  const rows = page.getByRole("table", { name: "Sessions" }).locator("tbody tr");
  await expect(rows).toHaveCount(2);
  await expect(page.getByText("this browser")).toBeVisible();
  await expect(rows.first()).toContainText("127.0.0.1");
  await hydrated(page);
  await shot(page, "account");

  await page.getByRole("button", { name: "Log out other sessions" }).click();
  await expect(page.getByText("1 other session was logged out.")).toBeVisible();
  await expect(rows).toHaveCount(1);
  await elsewhere.goto("/apps");
  await expect(elsewhere).toHaveURL(/\/login\?next=%2Fapps/);

  await page.getByLabel("Current password").fill("not the password");
  await page.getByLabel("New password", { exact: true }).fill("a new passphrase here");
  await page.getByLabel("New password again").fill("a new passphrase here");
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByText("That is not your current password.")).toBeVisible();
  await page.getByLabel("Current password").fill(PASSWORD);
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByText("Your password is changed.")).toBeVisible();
  await shot(page, "account-password-changed");
  await logIn(elsewhere, email, PASSWORD);
  await expect(elsewhere.getByText("That email and password do not match.")).toBeVisible();
  await logIn(elsewhere, email, "a new passphrase here");
  await expect(elsewhere).toHaveURL(/\/overview$/);
  await other.close();
  // the wrong current password answers 422 on purpose; the browser logs that as a failed load
  const unexpected = errors.filter((e) => !e.includes("422") || !e.includes("/_fn/change_password"));
  expect(unexpected, unexpected.join("\n")).toEqual([]);
});

test("an operator's reset link sets a new password once and logs the old sessions out", async ({ page, browser }) => {
  // the binary and data dir of the server under test (scripts/test sets them)
  const bin = process.env.HOOKLINE_BIN;
  const dataDir = process.env.HOOKLINE_E2E_DATA_DIR;
  test.skip(!bin || !dataDir, "needs HOOKLINE_BIN and HOOKLINE_E2E_DATA_DIR, as scripts/test sets them");
  const id = unique();
  const email = `forgot-${id}@example.com`;
  await signUp(page, email, `Forgot ${id}`);
  // forgotten: the login page says what to do
  const fresh = await browser.newContext();
  const them = await fresh.newPage();
  await them.goto("/login");
  await expect(them.getByText("hookline user reset-password --email")).toBeVisible();

  const link = execFileSync(bin!, ["user", "reset-password", "--email", email], {
    env: { ...process.env, HOOKLINE_DATA_DIR: dataDir!, HOOKLINE_LISTEN: "127.0.0.1:3000" },
  })
    .toString()
    .trim();
  expect(link).toMatch(/\/reset-password\?token=/);
  const path = new URL(link).pathname + new URL(link).search;
  await them.goto(path);
  await hydrated(them);
  await expect(them.getByRole("heading", { name: "Choose a new password" })).toBeVisible();
  await them.getByLabel("New password", { exact: true }).fill("a fresh passphrase now");
  await them.getByLabel("New password again").fill("a fresh passphrase now");
  await shot(them, "reset-password");
  await them.getByRole("button", { name: "Set password and log in" }).click();
  await expect(them).toHaveURL(/\/overview$/);
  // the old session is over, and the link is used up
  await page.goto("/apps");
  await expect(page).toHaveURL(/\/login\?next=%2Fapps/);
  await them.goto(path);
  await expect(them.getByText("This reset link has expired or was already used.")).toBeVisible();
  await fresh.close();
});
