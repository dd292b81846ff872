import { test, type Page } from "@playwright/test";
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
