import { test, expect, type Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { collectConsoleErrors, shot, startReceiver, verifies } from "./helpers";

const hydrated = (page: Page) => page.waitForSelector('[data-hydrated="true"]', { state: "attached" });

async function signUp(page: Page, tag: string) {
  const id = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("Email").fill(`${tag}-${id}@example.com`);
  await page.getByLabel("Password").fill("a long enough passphrase");
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page).toHaveURL(/\/welcome$/);
}

test("a Slack-compatible destination gets a readable test and a disabled endpoint", async ({ page }) => {
  const errors = collectConsoleErrors(page);
  const slack = await startReceiver();
  await signUp(page, "notify");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Notifications" }).click();
  await expect(page).toHaveURL(/\/notifications$/);
  await hydrated(page);
  await expect(page.getByText("None yet")).toBeVisible();
  // the defaults are what needs a person
  await expect(page.getByRole("checkbox", { name: /endpoint\.disabled/ })).toBeChecked();
  await expect(page.getByRole("checkbox", { name: /message\.attempt\.exhausted/ })).toBeChecked();
  await expect(page.getByRole("checkbox", { name: /endpoint\.created/ })).not.toBeChecked();
  await shot(page, "notifications-empty");
  await page.getByLabel("URL").fill(slack.url);
  await page.getByRole("button", { name: "Add destination" }).click();
  const table = page.getByRole("table", { name: "Notification destinations" });
  await expect(table).toContainText("Slack-compatible message");
  await expect(page.getByLabel("URL")).toHaveValue("");

  await table.getByRole("button", { name: "Send test" }).click();
  await expect.poll(() => slack.received.length).toBe(1);
  expect(JSON.parse(slack.received[0].body)).toEqual({ text: ":wave: A test from Hookline: its notifications reach this channel." });
  const sent = page.getByRole("table", { name: "Notifications sent" });
  await expect(sent).toContainText("hookline.test");
  await expect(sent).toContainText("arrived (HTTP 200)");

  // an endpoint disabled by hand is told to the channel in words
  await page.goto("/welcome");
  await hydrated(page);
  await page.getByRole("button", { name: "Create application" }).click();
  await expect(page).toHaveURL(/\/welcome\?app=app_/);
  await page.getByText("Or use a URL of your own").click();
  await page.getByLabel("Endpoint URL").fill("http://127.0.0.1:9/hook");
  await page.getByRole("button", { name: "Add endpoint" }).click();
  await expect(page).toHaveURL(/endpoint=ep_/);
  const app = new URL(page.url()).searchParams.get("app")!;
  const ep = new URL(page.url()).searchParams.get("endpoint")!;
  await page.goto(`/apps/${app}/endpoint/${ep}`);
  await hydrated(page);
  await page.getByRole("button", { name: "Disable endpoint" }).click();
  await expect.poll(() => slack.received.length).toBe(2);
  const text: string = JSON.parse(slack.received[1].body).text;
  expect(text).toContain(`was disabled (by hand)`);
  expect(text).toContain(ep);

  await page.goto("/notifications");
  await hydrated(page);
  await expect(page.getByRole("table", { name: "Notifications sent" })).toContainText("endpoint.disabled");
  await shot(page, "notifications");
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id}: ${v.help}`);
  expect(bad, bad.join("\n")).toEqual([]);
  await page.setViewportSize({ width: 360, height: 740 });
  const [scroll, client] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
  expect(scroll, `the page is ${scroll}px wide in ${client}px`).toBeLessThanOrEqual(client);
  await shot(page, "narrow-notifications");
  slack.close();
  expect(errors, errors.join("\n")).toEqual([]);
});

test("a signed destination gets Svix's operational webhook, verifiable with its secret", async ({ page }) => {
  const hook = await startReceiver();
  await signUp(page, "opshook");
  await page.goto("/notifications");
  await hydrated(page);
  await page.getByRole("radio", { name: /A signed webhook/ }).check();
  await page.getByLabel("URL").fill(hook.url);
  await page.getByRole("checkbox", { name: /endpoint\.created/ }).check();
  await page.getByRole("button", { name: "Add destination" }).click();
  const table = page.getByRole("table", { name: "Notification destinations" });
  await expect(table).toContainText("signed webhook");
  await table.getByRole("button", { name: "Secret" }).click();
  const secret = (await page.locator("code.secret").textContent())!;
  expect(secret).toMatch(/^whsec_/);
  // an endpoint added in the guide is told as endpoint.created
  await page.goto("/welcome");
  await hydrated(page);
  await page.getByRole("button", { name: "Create application" }).click();
  await expect(page).toHaveURL(/\/welcome\?app=app_/);
  await page.getByRole("button", { name: "Use a test inbox" }).click();
  await expect(page).toHaveURL(/endpoint=ep_/);
  await expect.poll(() => hook.received.length).toBe(1);
  const got = hook.received[0];
  expect(verifies(secret, got.headers, got.body)).toBe(true);
  const event = JSON.parse(got.body);
  expect(event.type).toBe("endpoint.created");
  expect(event.data.endpointId).toBe(new URL(page.url()).searchParams.get("endpoint"));
  hook.close();
});
