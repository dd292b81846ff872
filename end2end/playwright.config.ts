import { defineConfig, devices } from "@playwright/test";

/**
 * Playwright configuration for Hookline's end-to-end tests.
 *
 * - The browser is Debian's Chromium at /usr/bin/chromium; Playwright never
 *   downloads browsers here (install with PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1).
 * - The server under test is expected at HOOKLINE_E2E_BASE_URL (default
 *   http://127.0.0.1:3000, the `site-addr` cargo-leptos uses). `global-setup.ts`
 *   waits up to 120 s for it, because `cargo leptos end-to-end` starts the
 *   server and Playwright at the same time.
 * - Tests take explicit screenshots via `shot()` in tests/helpers.ts
 *   (test-results/screenshots/<name>.png); there is no global screenshot setting.
 */
const baseURL = process.env.HOOKLINE_E2E_BASE_URL ?? "http://127.0.0.1:3000";

export default defineConfig({
  testDir: "./tests",
  outputDir: "./test-results",
  globalSetup: "./global-setup.ts",
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  workers: 1,
  reporter: "list",
  // A debug (unoptimised) wasm bundle can take a while to load and hydrate.
  timeout: 60_000,
  expect: { timeout: 10_000 },
  use: {
    baseURL,
    trace: "retain-on-failure",
  },
  projects: [
    {
      name: "chromium",
      use: {
        ...devices["Desktop Chrome"],
        launchOptions: {
          executablePath: "/usr/bin/chromium",
          // Playwright adds --headless, --no-sandbox and a temporary profile
          // itself; passing --user-data-dir here would throw.
          args: [
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
          ],
        },
      },
    },
  ],
});
