import type { FullConfig } from "@playwright/test";

const HEALTH_PATH = "/api/v1/health/ping";
const POLL_INTERVAL_MS = 500;
const MAX_WAIT_MS = 120_000;
const REQUEST_TIMEOUT_MS = 2_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until the Hookline server answers its health ping (HTTP 204 or 200).
 *
 * `cargo leptos end-to-end` starts the server and Playwright together without
 * waiting for the port, so the first run (which may still be compiling or
 * migrating) needs this grace period.
 */
export default async function globalSetup(config: FullConfig): Promise<void> {
  const baseURL =
    (config.projects[0]?.use?.baseURL as string | undefined) ??
    process.env.HOOKLINE_E2E_BASE_URL ??
    "http://127.0.0.1:3000";
  const url = new URL(HEALTH_PATH, baseURL).toString();

  const started = Date.now();
  let lastProblem = "no attempt made";
  let attempts = 0;

  while (Date.now() - started < MAX_WAIT_MS) {
    attempts += 1;
    try {
      const res = await fetch(url, {
        redirect: "manual",
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      // Drain the body so the connection is released.
      await res.arrayBuffer().catch(() => undefined);
      if (res.status === 204 || res.status === 200) {
        const secs = ((Date.now() - started) / 1000).toFixed(1);
        console.log(`[global-setup] ${url} -> ${res.status} after ${secs}s (${attempts} attempt(s))`);
        return;
      }
      lastProblem = `HTTP ${res.status} ${res.statusText}`;
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      lastProblem = e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
    }
    if (attempts === 1 || attempts % 20 === 0) {
      console.log(`[global-setup] waiting for ${url} (last: ${lastProblem})`);
    }
    await sleep(POLL_INTERVAL_MS);
  }

  throw new Error(
    `[global-setup] Hookline server did not come up: ${url} did not answer 204/200 ` +
      `within ${MAX_WAIT_MS / 1000}s (${attempts} attempts; last result: ${lastProblem}). ` +
      `Start the server first (e.g. \`cargo leptos end-to-end\` from the workspace root) ` +
      `or point HOOKLINE_E2E_BASE_URL at a running instance.`,
  );
}
