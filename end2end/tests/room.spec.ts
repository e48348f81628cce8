import { test, expect, type Page, type BrowserContext } from "@playwright/test";

// A fresh room per test run, so reruns against a long-lived server do not mix.
const room = (label: string) => `${label}-${Date.now().toString(36)}`;

async function withName(context: BrowserContext, name: string) {
  await context.addInitScript((n) => localStorage.setItem("chorus.name", n), name);
}

async function openRoom(page: Page, roomName: string) {
  await page.goto(`/r/${roomName}`);
  await expect(page.locator("body[data-hydrated]")).toBeAttached();
}

async function live(page: Page) {
  await expect(page.getByTestId("status")).toHaveText("Live");
}

test("two browsers chat in a room, and history survives a reload", async ({ browser }) => {
  const name = room("chat");
  const ann = await browser.newContext();
  const bob = await browser.newContext();
  await withName(bob, "Bob");
  const a = await ann.newPage();
  const b = await bob.newPage();
  // The pages run under a strict nonce CSP: nothing may be blocked by it.
  const blocked: string[] = [];
  for (const page of [a, b]) {
    page.on("console", (m) => {
      if (/Content.Security.Policy/i.test(m.text())) blocked.push(m.text());
    });
  }

  // Ann has no saved name: the room asks for one.
  await openRoom(a, name);
  await a.getByPlaceholder("Pick a name to join the chat").fill("Ann");
  await a.getByRole("button", { name: "Join" }).click();
  await live(a);

  await openRoom(b, name);
  await live(b);
  await expect(a.locator(".online")).toHaveText("2 online");

  const text = `hello from Ann <b>not bold</b> ${Date.now()}`;
  await a.getByLabel("Message", { exact: true }).fill(text);
  await a.getByLabel("Message", { exact: true }).press("Enter");

  // Both windows show it at once, as text (no HTML injection), Ann's marked sent.
  for (const page of [a, b]) {
    const row = page.locator(".msg", { hasText: text });
    await expect(row).toHaveCount(1);
    await expect(row.locator(".from")).toHaveText("Ann");
    await expect(row.locator("b")).toHaveCount(0);
  }
  await expect(a.locator(".msg.sent", { hasText: text })).toHaveCount(1);
  await expect(a.getByLabel("Message", { exact: true })).toHaveValue("");

  // Bob answers; Ann sees it.
  await b.getByLabel("Message", { exact: true }).fill("hi Ann");
  await b.getByRole("button", { name: "Send" }).click();
  await expect(a.locator(".msg", { hasText: "hi Ann" })).toHaveCount(1);

  await b.screenshot({ path: "test-results/screenshots/room.png" });

  // Reload: the history is still there, once, in order.
  await b.reload();
  await expect(b.locator("body[data-hydrated]")).toBeAttached();
  await live(b);
  await expect(b.locator(".msg", { hasText: text })).toHaveCount(1);
  await expect(b.locator(".msg .body")).toHaveText([text, "hi Ann"]);

  expect(blocked).toEqual([]);

  // A new member leaves: the count follows.
  await b.close();
  await expect(a.locator(".online")).toHaveText("1 online");

  await ann.close();
  await bob.close();
});

test("the lobby takes a name and a room", async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 390, height: 780 } });
  const page = await context.newPage();
  await page.goto("/");
  await expect(page.locator("body[data-hydrated]")).toBeAttached();
  await page.screenshot({ path: "test-results/screenshots/lobby-phone.png" });
  const target = room("lobby");
  await page.getByLabel("Your name").fill("Cleo");
  await page.getByLabel("Room", { exact: true }).fill(target);
  await page.getByRole("button", { name: "Join room" }).click();
  await expect(page).toHaveURL(new RegExp(`/r/${target}$`));
  await live(page);
  await expect(page.getByLabel("Message", { exact: true })).toHaveAttribute("placeholder", "Message as Cleo");
  await page.getByLabel("Message", { exact: true }).fill("from a phone-sized window");
  await page.getByLabel("Message", { exact: true }).press("Enter");
  await expect(page.locator(".msg.sent", { hasText: "from a phone-sized window" })).toHaveCount(1);
  await page.screenshot({ path: "test-results/screenshots/room-phone.png" });
  await context.close();
});

test("an invalid room name is explained, not served", async ({ page }) => {
  await page.goto("/r/not%20a%20room");
  await expect(page.getByRole("heading", { name: "Not a room name" })).toBeVisible();
});
