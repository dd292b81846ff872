import { test, expect, type Page } from "@playwright/test";
import * as crypto from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";

/**
 * Starts collecting browser-side errors for `page`: `console.error(...)`
 * messages (including "Failed to load resource" 404s) and uncaught exceptions
 * (`pageerror`, e.g. a wasm panic or a failed hydration).
 *
 * Call it BEFORE `page.goto()`. The returned array fills up as the page runs;
 * assert on it at the end of the test, e.g. `expect(errors).toEqual([])`.
 */
export function collectConsoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    const loc = msg.location();
    const where = loc.url ? ` (${loc.url}:${loc.lineNumber}:${loc.columnNumber})` : "";
    errors.push(`console.error: ${msg.text()}${where}`);
  });
  page.on("pageerror", (err) => {
    errors.push(`pageerror: ${err.name}: ${err.message}`);
  });
  return errors;
}

/**
 * Saves a full-page screenshot to test-results/screenshots/<name>.png
 * (inside the configured outputDir) and returns the absolute path.
 * Must be called from inside a running test.
 */
export async function shot(page: Page, name: string): Promise<string> {
  const file = path.join(test.info().project.outputDir, "screenshots", `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Standard Webhooks check, written out here so the test does not trust our own code. */
export function verifies(secret: string, h: http.IncomingHttpHeaders, body: string): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const mac = crypto.createHmac("sha256", key).update(`${h["webhook-id"]}.${h["webhook-timestamp"]}.${body}`).digest("base64");
  return String(h["webhook-signature"]).split(" ").includes(`v1,${mac}`);
}

/** A real receiver on 127.0.0.1 that records every webhook it gets. */
export async function startReceiver(failFirst = 0) {
  const received: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  const state = { failing: false };
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received.push({ headers: req.headers, body });
      if (state.failing || received.length <= failFirst) res.writeHead(500).end("receiver is down");
      else res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    received,
    /** Answer 500 to everything (true) or 200 (false) from now on. */
    setFailing: (failing: boolean) => (state.failing = failing),
    close: () => server.close(),
  };
}

/** Opens a tab of an application's page ("Endpoints", "Testing", "Messages", ...). */
export async function openTab(page: Page, name: string) {
  await page.getByRole("navigation", { name: "Application" }).getByRole("link", { name, exact: true }).click();
  await expect(page.getByRole("navigation", { name: "Application" }).getByRole("link", { name, exact: true })).toHaveAttribute("aria-current", "page");
  await page.waitForSelector('[data-hydrated="true"]', { state: "attached" });
}

/** Signs up a new account, creates an event type and an application, and subscribes an
 * endpoint at `url` (signing with `scheme`, the form's label, if given); leaves the page on
 * the application. Returns the hydration wait. */
export async function newAccountWithEndpoint(page: Page, tag: string, eventType: string, appName: string, url: string, scheme?: string) {
  const id = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const hydrated = () => page.waitForSelector('[data-hydrated="true"]', { state: "attached" });
  await page.goto("/signup");
  await hydrated();
  await page.getByLabel("Email").fill(`${tag.toLowerCase()}-${id}@example.com`);
  await page.getByLabel("Password").fill("a long enough passphrase");
  await page.getByLabel("Organisation name").fill(`${tag} ${id}`);
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page).toHaveURL(/\/welcome$/);
  await page.goto("/event-types");
  await hydrated();
  await page.getByLabel("Name", { exact: true }).fill(eventType);
  await page.getByRole("button", { name: "Create event type" }).click();
  await expect(page.getByRole("cell", { name: eventType, exact: true })).toBeVisible();
  await page.goto("/apps");
  await hydrated();
  await page.getByLabel("Name", { exact: true }).fill(appName);
  await page.getByRole("button", { name: "Create" }).click();
  await page.getByRole("link", { name: appName }).click();
  await hydrated();
  await page.getByLabel("URL").fill(url);
  if (scheme) {
    await page.getByText("More: channels, rate limit, custom headers, payload filter, signature scheme").click();
    await page.getByLabel("Signature scheme").selectOption({ label: scheme });
  }
  await page.getByRole("button", { name: "Add endpoint" }).click();
  await expect(page.getByRole("cell", { name: /127\.0\.0\.1/ })).toBeVisible();
  return hydrated;
}

