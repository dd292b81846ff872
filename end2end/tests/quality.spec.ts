import { test, expect, type Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { collectConsoleErrors, newAccountWithEndpoint, openTab, shot, startReceiver } from "./helpers";

const hydrated = (page: Page) => page.waitForSelector('[data-hydrated="true"]', { state: "attached" });

/** Nothing sticks out sideways: the page needs no horizontal scrolling. */
async function fitsWidth(page: Page) {
  const [scroll, client] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
  expect(scroll, `page is ${scroll}px wide in a ${client}px window`).toBeLessThanOrEqual(client);
}

test("signup works with the keyboard alone, with a visible focus ring", async ({ page }) => {
  const id = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("Email").focus();
  await page.keyboard.type(`keys-${id}@example.com`);
  const ring = await page.getByLabel("Email").evaluate((el) => getComputedStyle(el).outlineStyle);
  expect(ring).not.toBe("none");
  await page.keyboard.press("Tab");
  await expect(page.getByLabel("Password")).toBeFocused();
  await page.keyboard.type("a long enough passphrase");
  await page.keyboard.press("Tab");
  await expect(page.getByLabel("Organisation name")).toBeFocused();
  await page.keyboard.type(`Keys ${id}`);
  await page.keyboard.press("Tab");
  await expect(page.getByRole("button", { name: "Sign up" })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/welcome$/);
  await hydrated(page);
  // the guide's first step by keyboard too
  await page.getByLabel("Application name").focus();
  await page.keyboard.press("ControlOrMeta+a");
  await page.keyboard.type("Keyboard app");
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/welcome\?app=app_/);
  await expect(page.getByText("Keyboard app")).toBeVisible();
});

test("pages fit a 360 px wide phone screen, and each renders on the server and hydrates cleanly", async ({ page }) => {
  const errors = collectConsoleErrors(page);
  const receiver = await startReceiver();
  await newAccountWithEndpoint(page, "Narrow", "invoice.paid", "Phone", receiver.url);
  const appUrl = page.url();
  await openTab(page, "Testing");
  await page.getByRole("button", { name: "Send test event" }).click();
  await expect(page).toHaveURL(/\/msg\/msg_/);
  await hydrated(page);
  await expect(page.getByText("succeeded").first()).toBeVisible();
  const timeline = page.url();
  await page.getByRole("link", { name: receiver.url }).click();
  await expect(page).toHaveURL(/\/endpoint\/ep_/);
  const endpoint = page.url();

  await page.setViewportSize({ width: 360, height: 740 });
  for (const [name, url] of [
    ["apps", "/apps"],
    ["app", appUrl],
    ["timeline", timeline],
    ["endpoint", endpoint],
    ["messages", `${appUrl}/messages`],
    ["event-types", "/event-types"],
    ["api-keys", "/api-keys"],
  ]) {
    await page.goto(url);
    await hydrated(page);
    await fitsWidth(page);
    await shot(page, `narrow-${name}`);
  }
  receiver.close();
  expect(errors, errors.join("\n")).toEqual([]);
});

/** axe-core's WCAG 2.1 A/AA rules on the current page: no serious or critical violation. */
async function accessible(page: Page, name: string) {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  if (process.env.AXE_VERBOSE) console.log(name, results.passes.length, "rules passed;", results.violations.map((v) => `${v.id}/${v.impact}`).join(" "));
  const bad = results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${name}: ${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
  expect(bad, bad.join("\n")).toEqual([]);
}

test("the key pages pass axe-core's WCAG 2.1 AA checks (labels, contrast, names, structure)", async ({ page, browser }) => {
  await page.goto("/signup");
  await hydrated(page);
  await accessible(page, "signup");
  await page.goto("/login");
  await hydrated(page);
  await accessible(page, "login");

  const receiver = await startReceiver();
  await newAccountWithEndpoint(page, "Axe", "invoice.paid", "Audited", receiver.url);
  const appUrl = page.url();
  await accessible(page, "app");
  await openTab(page, "Testing");
  await accessible(page, "app-testing");
  await page.getByRole("button", { name: "Send test event" }).click();
  await expect(page).toHaveURL(/\/msg\/msg_/);
  await hydrated(page);
  await expect(page.getByText("succeeded").first()).toBeVisible();
  await accessible(page, "timeline");
  await page.getByRole("link", { name: receiver.url }).click();
  await expect(page).toHaveURL(/\/endpoint\/ep_/);
  await hydrated(page);
  await accessible(page, "endpoint");
  for (const [name, url] of [
    ["apps", "/apps"],
    ["messages", `${appUrl}/messages`],
    ["event-types", "/event-types"],
    ["api-keys", "/api-keys"],
  ]) {
    await page.goto(url);
    await hydrated(page);
    await accessible(page, name);
  }
  // the consumer portal, in a browser without an account
  await page.goto(`${appUrl}?tab=portal`);
  await hydrated(page);
  await page.getByRole("button", { name: "Get a link to share" }).click();
  const link = (await page.getByTestId("portal-link").textContent())!.trim();
  const customer = await browser.newContext();
  const c = await customer.newPage();
  await c.goto(link);
  await hydrated(c);
  await accessible(c, "consumer-portal");
  await customer.close();
  receiver.close();
});

test("without JavaScript, pages are readable and forms work as plain posts", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const id = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  await page.goto("/signup");
  await page.getByLabel("Email").fill(`nojs-${id}@example.com`);
  await page.getByLabel("Password").fill("a long enough passphrase");
  await page.getByLabel("Organisation name").fill(`NoJS ${id}`);
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page).toHaveURL(/\/welcome$/);
  await expect(page.getByRole("heading", { name: "Send your first webhook" })).toBeVisible();
  // each step of the guide works as a plain post too
  await page.getByRole("button", { name: "Create application" }).click();
  await expect(page).toHaveURL(/\/welcome\?app=app_/);
  await page.getByRole("button", { name: "Use a test inbox" }).click();
  await expect(page).toHaveURL(/inbox=inbox_/);
  await page.getByRole("button", { name: "Send test event" }).click();
  await expect(page).toHaveURL(/msg=msg_/);
  await page.goto("/apps");
  await expect(page.getByRole("heading", { name: "Applications" })).toBeVisible();
  await page.getByLabel("Name", { exact: true }).fill("Plain forms");
  await page.getByRole("button", { name: "Create" }).click();
  await expect(page.getByRole("cell", { name: "Plain forms" })).toBeVisible();
  await page.getByRole("link", { name: "Plain forms" }).click();
  await expect(page.getByRole("heading", { name: "Plain forms" })).toBeVisible();
  await expect(page.getByText("No endpoints yet")).toBeVisible();
  await page.getByLabel("URL").fill("http://127.0.0.1:9/hooks");
  await page.getByRole("button", { name: "Add endpoint" }).click();
  await expect(page.getByRole("cell", { name: /127\.0\.0\.1:9/ })).toBeVisible();
  await page.goto("/event-types");
  await expect(page.getByRole("heading", { name: "Event types" })).toBeVisible();
  await context.close();
});
