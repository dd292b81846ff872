import { test, expect } from "@playwright/test";
import { collectConsoleErrors, shot } from "./helpers";

test.describe("smoke", () => {
  test("landing page renders, hydrates and logs no errors", async ({ page }) => {
    const errors = collectConsoleErrors(page);

    const response = await page.goto("/");
    expect(response, "navigation to / returned no response").not.toBeNull();
    expect(response!.status(), "HTTP status of /").toBe(200);

    await expect(page).toHaveTitle(/Hookline/);
    await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
    await expect(page.getByRole("link", { name: "Get started" })).toBeVisible();

    // Hydration marker: the app sets data-hydrated="true" (on <body> or
    // #app-root) from an Effect, which only runs in the browser after hydration.
    await page.waitForSelector('[data-hydrated="true"]', { state: "attached", timeout: 30_000 });

    await shot(page, "landing");

    expect(errors, `browser console errors on /:\n${errors.join("\n")}`).toEqual([]);
  });

  test("health endpoint answers 204", async ({ request }) => {
    const res = await request.get("/api/v1/health", { maxRedirects: 0 });
    expect(res.status()).toBe(204);
  });
});
