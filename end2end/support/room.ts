// What every browser test does with a room page, written once.
import { expect, type Browser, type BrowserContext, type Page } from "@playwright/test";

/** A fresh room name per run, so reruns against a long-lived server do not mix. */
export const uniqueRoom = (label: string) => `${label}-${Date.now().toString(36)}`;

/** A browser context whose localStorage already holds the display name. */
export async function person(browser: Browser, name: string, options = {}): Promise<BrowserContext> {
  const context = await browser.newContext(options);
  await context.addInitScript((n) => localStorage.setItem("chorus.name", n), name);
  return context;
}

/** Opens `url` in a new page of `context` and waits until it is hydrated and live. */
export async function enter(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(url);
  await expect(page.locator("body[data-hydrated]")).toBeAttached();
  await live(page);
  return page;
}

/** Waits for the connection badge to say Live (reconnects may take a backoff or two). */
export async function live(page: Page) {
  await expect(page.getByTestId("status")).toHaveText("Live", { timeout: 20_000 });
}

/** Types a message and presses Enter. */
export async function type(page: Page, text: string) {
  const box = page.getByLabel("Message", { exact: true });
  await box.fill(text);
  await box.press("Enter");
}

/** Sends a message and waits until the server has acked it. */
export async function send(page: Page, text: string) {
  await type(page, text);
  await expect(page.locator(".msg.sent", { hasText: text })).toHaveCount(1);
}
