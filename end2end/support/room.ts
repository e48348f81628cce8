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

/** Publishes `bodies` as `name` over a socket of the page's own (not the page's), `paceMs`
 * apart; resolves once every one is acked. For filling a room fast. */
export async function publishAs(page: Page, room: string, name: string, bodies: string[], paceMs = 0) {
  await page.evaluate(
    async ({ room, name, bodies, paceMs }) => {
      const ws = new WebSocket(`ws://${location.host}/ws`);
      await new Promise((r) => (ws.onopen = r));
      ws.send(JSON.stringify({ type: "join", room, name }));
      let acked = 0;
      const done = new Promise<void>((resolve) => {
        ws.onmessage = (ev) => {
          if (JSON.parse(ev.data).type === "ack" && ++acked === bodies.length) resolve();
        };
      });
      const tag = Math.random().toString(36).slice(2);
      for (const [i, body] of bodies.entries()) {
        ws.send(JSON.stringify({ type: "publish", room, body, client_id: `p-${tag}-${i}` }));
        if (paceMs) await new Promise((r) => setTimeout(r, paceMs));
      }
      await done;
      ws.close();
    },
    { room, name, bodies, paceMs },
  );
}
