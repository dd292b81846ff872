import { test, expect, type Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { collectConsoleErrors, shot } from "./helpers";

const hydrated = (page: Page) => page.waitForSelector('[data-hydrated="true"]', { state: "attached" });

/** axe-core's WCAG 2.1 A/AA rules on the current page: no serious or critical violation. */
async function accessible(page: Page, name: string) {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const bad = results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${name}: ${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
  expect(bad, bad.join("\n")).toEqual([]);
}

/** Nothing sticks out sideways: the page needs no horizontal scrolling. */
async function fitsWidth(page: Page) {
  const [scroll, client] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
  expect(scroll, `${new URL(page.url()).pathname} is ${scroll}px wide in a ${client}px window`).toBeLessThanOrEqual(client);
}

/**
 * The measure: from the home page to a green delivery into a test inbox, counting
 * every interaction a person makes (a click, filling a field). Waiting is not counted.
 */
test("home page to a first green delivery into a test inbox in at most 8 interactions", async ({ page }) => {
  const errors = collectConsoleErrors(page);
  const id = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  let interactions = 0;
  const act = async (what: () => Promise<unknown>) => {
    interactions += 1;
    await what();
  };
  const started = Date.now();
  await page.goto("/");
  await hydrated(page);
  await shot(page, "landing");
  await act(() => page.getByRole("link", { name: "Get started" }).click());
  await expect(page).toHaveURL(/\/signup$/);
  await hydrated(page);
  await act(() => page.getByLabel("Email").fill(`first-${id}@example.com`));
  await act(() => page.getByLabel("Password").fill("a long enough passphrase"));
  await act(() => page.getByRole("button", { name: "Sign up" }).click());
  await expect(page).toHaveURL(/\/welcome$/);
  await hydrated(page);
  await shot(page, "welcome-1");
  // the name is filled in: one click
  await act(() => page.getByRole("button", { name: "Create application" }).click());
  await expect(page).toHaveURL(/\/welcome\?app=app_/);
  await expect(page.getByRole("button", { name: "Use a test inbox" })).toBeVisible();
  await act(() => page.getByRole("button", { name: "Use a test inbox" }).click());
  await expect(page).toHaveURL(/inbox=inbox_/);
  await expect(page.getByRole("button", { name: "Send test event" })).toBeVisible();
  await shot(page, "welcome-3");
  await act(() => page.getByRole("button", { name: "Send test event" }).click());
  await expect(page.getByTestId("first-delivery")).toContainText("Delivered: HTTP 200");
  await expect(page.getByTestId("signature")).toHaveText("signature valid");
  const seconds = (Date.now() - started) / 1000;
  console.log(`home page to a green delivery into a test inbox: ${interactions} interactions, ${seconds.toFixed(1)} s`);
  expect(interactions).toBeLessThanOrEqual(8);
  await shot(page, "welcome-delivered");
  await page.setViewportSize({ width: 360, height: 740 });
  await fitsWidth(page);
  await shot(page, "narrow-welcome-delivered");
  await page.setViewportSize({ width: 1280, height: 720 });
  await accessible(page, "welcome");

  // from here, the timeline and the inbox are a click away
  await page.getByRole("link", { name: "The test inbox" }).click();
  await hydrated(page);
  await expect(page.getByRole("heading", { name: "Requests (1)" })).toBeVisible();
  await expect(page.getByTestId("signature")).toHaveText("signature valid");
  expect(errors, errors.join("\n")).toEqual([]);
});

/** A new account whose application has a test-inbox endpoint; leaves the page on its Testing tab. */
async function accountWithInbox(page: Page, tag: string) {
  const id = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("Email").fill(`${tag}-${id}@example.com`);
  await page.getByLabel("Password").fill("a long enough passphrase");
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page).toHaveURL(/\/welcome$/);
  await hydrated(page);
  await page.getByRole("button", { name: "Create application" }).click();
  await expect(page).toHaveURL(/\/welcome\?app=app_/);
  const app = new URL(page.url()).searchParams.get("app")!;
  await page.goto(`/apps/${app}?tab=testing`);
  await hydrated(page);
  await page.getByRole("button", { name: "Create a test inbox endpoint" }).click();
  await expect(page.getByRole("link", { name: "Open inbox" })).toBeVisible();
  return app;
}

test("a test inbox shows deliveries live, and can fail on purpose to show retries", async ({ page }) => {
  const errors = collectConsoleErrors(page);
  const app = await accountWithInbox(page, "inbox");
  await shot(page, "app-testing");
  // a free event type name, no catalogue needed
  await page.getByLabel("Event type").fill("order.shipped");
  await page.getByRole("button", { name: "Send test event" }).click();
  await expect(page).toHaveURL(/\/msg\/msg_/);
  await hydrated(page);
  await expect(page.getByText("succeeded").first()).toBeVisible();
  await expect(page.getByText("first try")).toBeVisible();
  await shot(page, "timeline-inbox");

  await page.goto(`/apps/${app}?tab=testing`);
  await hydrated(page);
  await page.getByRole("link", { name: "Open inbox" }).click();
  await hydrated(page);
  await expect(page.getByRole("heading", { name: "Requests (1)" })).toBeVisible();
  const inboxUrl = page.url();
  // make it fail: the next delivery is answered 503, and the page shows it arriving
  await page.getByText("How it answers").click();
  await page.getByLabel("Status").fill("503");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByText("Answers HTTP 503 at once")).toBeVisible();
  await page.goto(`/apps/${app}?tab=testing`);
  await hydrated(page);
  await page.getByRole("button", { name: "Send test event" }).click();
  await expect(page).toHaveURL(/\/msg\/msg_/);
  await hydrated(page);
  await expect(page.getByText("HTTP 503").first()).toBeVisible();
  await page.goto(inboxUrl);
  await hydrated(page);
  await expect(page.getByText("answered 503").first()).toBeVisible();
  await shot(page, "inbox");
  await accessible(page, "inbox");
  await page.setViewportSize({ width: 360, height: 740 });
  await fitsWidth(page);
  await shot(page, "narrow-inbox");
  expect(errors.filter((e) => !e.includes("503")), errors.join("\n")).toEqual([]);
});

test("every page, at 360 px and on a desktop, renders, fits and passes axe-core", async ({ page }) => {
  // about 40 page loads, each audited: over a minute on a busy 2-core machine
  test.slow();
  const errors = collectConsoleErrors(page);
  const app = await accountWithInbox(page, "pages");
  await page.getByRole("button", { name: "Send test event" }).click();
  await expect(page).toHaveURL(/\/msg\/msg_/);
  await hydrated(page);
  await expect(page.getByText("succeeded").first()).toBeVisible();
  const timeline = new URL(page.url()).pathname;
  await page.goto(`/apps/${app}?tab=testing`);
  await hydrated(page);
  await page.getByRole("link", { name: "its endpoint" }).click();
  await expect(page).toHaveURL(/\/endpoint\/ep_/);
  const endpoint = new URL(page.url()).pathname;
  await page.goto(`/apps/${app}?tab=testing`);
  await page.getByRole("link", { name: "Open inbox" }).click();
  await expect(page).toHaveURL(/\/inboxes\/inbox_/);
  const inbox = new URL(page.url()).pathname;
  const pages: [string, string][] = [
    ["overview", "/overview"],
    ["apps", "/apps"],
    ["app-endpoints", `/apps/${app}`],
    ["app-testing", `/apps/${app}?tab=testing`],
    ["app-messages", `/apps/${app}?tab=messages`],
    ["app-portal", `/apps/${app}?tab=portal`],
    ["app-settings", `/apps/${app}?tab=settings`],
    ["timeline", timeline],
    ["endpoint", endpoint],
    ["message-log", `/apps/${app}/messages`],
    ["event-types", "/event-types"],
    ["api-keys", "/api-keys"],
    ["account", "/account"],
    ["audit-log", "/audit-log"],
    ["members", "/members"],
    ["inboxes", "/inboxes"],
    ["inbox", inbox],
    ["welcome", "/welcome"],
    ["home-logged-in", "/"],
  ];
  for (const [width, prefix] of [[1280, "desktop"], [360, "narrow"]] as const) {
    await page.setViewportSize({ width, height: width === 360 ? 740 : 800 });
    for (const [name, url] of pages) {
      await page.goto(url);
      await hydrated(page);
      await expect(page.locator("[aria-busy=true]")).toHaveCount(0);
      await fitsWidth(page);
      await shot(page, `${prefix}-${name}`);
      if (width === 1280) await accessible(page, name);
    }
  }
  // the logged-out pages
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  for (const [width, prefix] of [[1280, "desktop"], [360, "narrow"]] as const) {
    await page.setViewportSize({ width, height: 800 });
    for (const [name, url] of [["landing", "/"], ["signup", "/signup"], ["login", "/login"], ["docs", "/docs"]]) {
      await page.goto(url);
      if (name !== "docs") await hydrated(page);
      await fitsWidth(page);
      await shot(page, `${prefix}-${name}`);
      if (width === 1280 && name !== "docs") await accessible(page, name);
    }
  }
  // a stranger's navigation leads only where a stranger can go
  await page.goto("/");
  const nav = page.getByRole("navigation", { name: "Main" });
  await expect(nav.getByRole("link", { name: "Applications" })).toHaveCount(0);
  await expect(nav.getByRole("link", { name: "Log in" })).toBeVisible();
  expect(errors, errors.join("\n")).toEqual([]);
});

test("the overview points at a failing endpoint and its dead letters", async ({ page }) => {
  const app = await accountWithInbox(page, "overview");
  await page.getByRole("link", { name: "Open inbox" }).click();
  await hydrated(page);
  await page.getByText("How it answers").click();
  await page.getByLabel("Status").fill("500");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByText("Answers HTTP 500 at once")).toBeVisible();
  await page.goto(`/apps/${app}?tab=testing`);
  await hydrated(page);
  await page.getByRole("button", { name: "Send test event" }).click();
  await expect(page).toHaveURL(/\/msg\/msg_/);
  await hydrated(page);
  // the e2e server's schedule is 4 s, 4 s: the delivery is dead-lettered within seconds
  await expect(page.getByText("failed").first()).toBeVisible({ timeout: 30_000 });
  await page.goto("/overview");
  await hydrated(page);
  await expect(page.getByTestId("dead-letters")).toHaveText("1");
  await expect(page.getByRole("table", { name: "Endpoints that need attention" })).toContainText("failures in a row");
  await shot(page, "overview-failing");
  await page.getByRole("table", { name: "Endpoints that need attention" }).getByRole("link").click();
  await expect(page).toHaveURL(/\/endpoint\/ep_/);
});
