import { test, expect } from "@playwright/test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { collectConsoleErrors, newAccountWithEndpoint, openTab, shot, startReceiver, verifies } from "./helpers";

/** Loads the Node code the portal shows as a module, as a user would paste it. */
function loadShownSnippet(code: string): { verify: (key: string, headers: object, body: Buffer) => void } {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "hookline-snippet-")), "verify.js");
  fs.writeFileSync(file, code);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(file);
}

test("an Ed25519 endpoint: made in the form, its public key and the shown Node code verify a real delivery, then rotated to HMAC", async ({ page }) => {
  const errors = collectConsoleErrors(page);
  const receiver = await startReceiver();
  const hydrated = await newAccountWithEndpoint(page, "Sig", "order.paid", "Shop", receiver.url, "Ed25519 (v1a): receivers hold only a public key, whpk_…");

  await openTab(page, "Testing");
  await page.getByRole("button", { name: "Send test event" }).click();
  await expect(page).toHaveURL(/\/msg\/msg_/);
  await hydrated();
  await expect(page.getByRole("region", { name: `Deliveries to ${receiver.url}` }).getByText("succeeded")).toBeVisible();
  await expect.poll(() => receiver.received.length).toBe(1);
  const got = receiver.received[0];
  expect(got.headers["webhook-signature"]).toMatch(/^v1a,[A-Za-z0-9+/]{86}==$/);

  await page.getByRole("link", { name: /Shop/ }).click();
  await openTab(page, "Endpoints");
  await page.getByRole("button", { name: "Reveal" }).click();
  const publicKey = (await page.getByTestId("current-secret").textContent())!.trim();
  expect(publicKey).toMatch(/^whpk_[A-Za-z0-9+/]{43}=$/);
  await expect(page.getByText("Current public key (Ed25519, v1a signatures)")).toBeVisible();
  await page.getByText("Verify in your code: Node").click();
  const shown = (await page.getByTestId("snippet-node").textContent())!;
  expect(shown).toContain(`verify("${publicKey}"`);
  const { verify } = loadShownSnippet(shown);
  verify(publicKey, got.headers, Buffer.from(got.body));
  expect(() => verify(publicKey, got.headers, Buffer.from(got.body + " "))).toThrow("no valid v1a signature");
  await page.getByText("Verify in your code: Python").click();
  await expect(page.getByTestId("snippet-python")).toContainText("Ed25519PublicKey.from_public_bytes");
  await shot(page, "secrets-ed25519");

  // rotate to HMAC: both sign during the grace period
  await page.getByLabel("Scheme of the new secret").selectOption({ label: "to HMAC-SHA256" });
  await page.getByRole("button", { name: "Rotate" }).click();
  await expect(page.getByTestId("previous-secret")).toHaveText(publicKey);
  const hmac = (await page.getByTestId("current-secret").textContent())!.trim();
  expect(hmac).toMatch(/^whsec_/);
  await expect(page.getByText("Current secret (HMAC-SHA256, v1 signatures)")).toBeVisible();
  await shot(page, "secrets-ed25519-to-hmac");

  await openTab(page, "Testing");
  await page.getByRole("button", { name: "Send test event" }).click();
  await expect(page).toHaveURL(/\/msg\/msg_/);
  await expect.poll(() => receiver.received.length).toBe(2);
  const second = receiver.received[1];
  expect(verifies(hmac, second.headers, second.body)).toBe(true);
  verify(publicKey, second.headers, Buffer.from(second.body));
  receiver.close();
  expect(errors, errors.join("\n")).toEqual([]);
});
