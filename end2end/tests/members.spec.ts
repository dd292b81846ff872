import { test, expect, type Page } from "@playwright/test";
import { collectConsoleErrors, newAccountWithEndpoint, shot } from "./helpers";

const hydrated = (page: Page) => page.waitForSelector('[data-hydrated="true"]', { state: "attached" });
const unique = () => `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;

/** Forms on the page that would change something (every server function but the ones a
 * viewer may call: revealing a secret, switching organisation, logging out). */
async function changeForms(page: Page): Promise<string[]> {
  return page.locator('form[action^="/_fn/"]').evaluateAll((forms) =>
    forms
      .map((f) => f.getAttribute("action")!)
      .filter((a) => !["/_fn/reveal_secret", "/_fn/destination_secret", "/_fn/switch_org", "/_fn/logout"].includes(a)),
  );
}

test("an admin invites a viewer, who sees everything and no form to change it, until made a developer", async ({ page, browser }) => {
  const errors = collectConsoleErrors(page);
  await newAccountWithEndpoint(page, "Team", "order.paid", "Shop", "http://127.0.0.1:9/hook");
  const appPath = new URL(page.url()).pathname;
  const endpointHref = await page.getByRole("link", { name: /127\.0\.0\.1:9/ }).first().getAttribute("href");

  await page.getByRole("link", { name: "Members" }).click();
  await expect(page).toHaveURL(/\/members$/);
  await hydrated(page);
  await page.getByLabel("Role", { exact: true }).selectOption("viewer");
  await page.getByRole("button", { name: "Create invitation link" }).click();
  const link = (await page.locator("#invite-link").textContent())!.trim();
  expect(link).toMatch(/\/join\?token=/);
  await expect(page.getByRole("table", { name: "Open invitations" })).toContainText("Viewer");
  await shot(page, "members-invite");

  // the invited person, in a browser of their own
  const other = await browser.newContext();
  const vera = await other.newPage();
  const veraErrors = collectConsoleErrors(vera);
  await vera.goto(link);
  await hydrated(vera);
  await expect(vera.getByText(/invites you to Team .* as viewer/)).toBeVisible();
  await shot(vera, "join");
  const email = `vera-${unique()}@example.com`;
  await vera.getByLabel("Email").fill(email);
  await vera.getByLabel("Password").fill("a long enough passphrase");
  await vera.getByRole("button", { name: "Create account and join" }).click();
  await expect(vera).toHaveURL(/\/overview$/);

  // every page a viewer reads, and not one form that would change anything
  for (const path of ["/overview", "/apps", appPath, `${appPath}?tab=testing`, `${appPath}?tab=settings`, `${appPath}?tab=portal`,
    endpointHref!, "/event-types", "/inboxes", "/notifications", "/members", "/audit-log", "/welcome"]) {
    await vera.goto(path);
    await hydrated(vera);
    await expect(vera.locator("[aria-busy=true]")).toHaveCount(0);
    expect(await changeForms(vera), `${path} offers a viewer a change`).toEqual([]);
  }
  await vera.goto(endpointHref!);
  await hydrated(vera);
  await expect(vera.getByTestId("read-only")).toContainText("You are a viewer");
  await shot(vera, "viewer-endpoint");
  await vera.goto("/apps");
  await expect(vera.getByTestId("role-notice")).toContainText("You are a viewer");
  await expect(vera.getByRole("link", { name: "API keys" })).toHaveCount(0);
  await shot(vera, "viewer-apps");

  // the admin makes her a developer; the forms appear
  await page.reload();
  await hydrated(page);
  const row = page.getByRole("table", { name: "Members" }).getByRole("row", { name: new RegExp(email) });
  await row.getByLabel(`Role of ${email}`).selectOption("developer");
  await row.getByRole("button", { name: "Change role" }).click();
  await expect(row.getByLabel(`Role of ${email}`)).toHaveValue("developer");
  await shot(page, "members");
  await vera.goto("/apps");
  await hydrated(vera);
  await expect(vera.getByRole("button", { name: "Create" })).toBeVisible();

  // and the audit log names who did what
  await page.getByRole("link", { name: "Audit log" }).click();
  const rows = page.getByRole("table", { name: "Audit log" }).locator("tbody tr");
  await expect(rows.first()).toContainText("Member's role changed");
  await expect(rows.nth(1)).toContainText("Member joined");
  await expect(rows.nth(1)).toContainText(email);
  expect(errors).toEqual([]);
  expect(veraErrors).toEqual([]);
  await other.close();
});
