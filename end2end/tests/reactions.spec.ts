import { test, expect, type Page } from "@playwright/test";
import { enter, person, publishAs, send, uniqueRoom } from "../support/room";
import { OwnServer, UNLIMITED_PUBLISHING } from "../support/server";

// Replies and reactions (issue 18), as two people use them: a reply quotes what it
// answers and jumps to it (also when it is older than what is loaded); reactions are
// counted once per person, shown highlighted for their own, and name who reacted.
test.describe.configure({ mode: "serial" });

const shots = "test-results/screenshots";
let server: OwnServer;

test.beforeAll(async () => {
  server = new OwnServer(UNLIMITED_PUBLISHING);
  await server.start();
});
test.afterAll(async () => {
  await server?.dispose();
});

const row = (page: Page, text: string) => page.locator(".msg", { hasText: text }).last();


test("a reply quotes its message, and reactions count once per person on both pages", async ({ browser }) => {
  const room = uniqueRoom("react");
  const ann = await person(browser, "Ann");
  const bob = await person(browser, "Bob");
  const a = await enter(ann, `${server.url}/r/${room}`);
  const b = await enter(bob, `${server.url}/r/${room}`);
  await send(a, "Lunch at noon tomorrow?");

  // Bob replies: Reply on Ann's message, the bar says to whom, Enter sends.
  await row(b, "Lunch at noon").hover();
  await row(b, "Lunch at noon").getByRole("button", { name: "Reply", exact: true }).click();
  await expect(b.locator(".replying")).toContainText("Replying to Ann");
  await expect(b.getByLabel("Message", { exact: true })).toBeFocused();
  await send(b, "Yes, count me in");
  await expect(b.locator(".replying")).toHaveCount(0);
  for (const p of [a, b]) {
    const quote = row(p, "count me in").locator(".reply-quote");
    await expect(quote).toContainText("Ann");
    await expect(quote).toContainText("Lunch at noon tomorrow?");
  }

  // Ann reacts from the picker; both pages show 👍 1, Ann's highlighted.
  await row(a, "count me in").hover();
  await row(a, "count me in").getByRole("button", { name: "Add reaction" }).click();
  await a.getByRole("menuitem", { name: "React with 👍" }).click();
  const chip = (p: Page) => row(p, "count me in").locator(".chip", { hasText: "👍" });
  await expect(chip(a)).toContainText("1");
  await expect(chip(b)).toContainText("1");
  await expect(chip(a)).toHaveAttribute("aria-pressed", "true");
  await expect(chip(b)).toHaveAttribute("aria-pressed", "false");
  // Bob adds his by clicking the chip: 2; hovering names both.
  await chip(b).click();
  await expect(chip(a)).toContainText("2");
  await expect(chip(b)).toHaveAttribute("aria-pressed", "true");
  await chip(a).hover();
  await expect(chip(a)).toHaveAttribute("title", /Ann, Bob reacted with 👍/);
  // A second reaction of Ann's, then she takes the 👍 back.
  await row(a, "count me in").hover();
  await row(a, "count me in").getByRole("button", { name: "Add reaction" }).click();
  await a.getByRole("menuitem", { name: "React with 🎉" }).click();
  await expect(row(b, "count me in").locator(".chip", { hasText: "🎉" })).toContainText("1");
  await a.screenshot({ path: `${shots}/reactions.png` });
  await chip(a).click();
  await expect(chip(b)).toContainText("1");

  // A reload keeps the counts (from the page the server rendered) and which are mine.
  await a.reload();
  await expect(a.locator("body[data-hydrated]")).toBeAttached();
  await expect(chip(a)).toContainText("1");
  await expect(chip(a)).toHaveAttribute("aria-pressed", "false");
  await expect(row(a, "count me in").locator(".chip", { hasText: "🎉" })).toHaveAttribute("aria-pressed", "true");

  // Dark and phone looks of the same room.
  const dark = await person(browser, "Cy", { colorScheme: "dark" });
  const d = await enter(dark, `${server.url}/r/${room}`);
  await expect(chip(d)).toContainText("1");
  await d.screenshot({ path: `${shots}/reactions-dark.png` });
  const phone = await person(browser, "Dee", {
    viewport: { width: 390, height: 760 }, isMobile: true, hasTouch: true,
  });
  const p = await enter(phone, `${server.url}/r/${room}`);
  // Ann's message (the reply under it quotes the same words).
  const lunch = p.locator(".msg", { hasText: "Lunch at noon" }).first();
  await lunch.tap();
  await expect(lunch.getByRole("button", { name: "Reply", exact: true })).toBeVisible();
  await p.screenshot({ path: `${shots}/actions-phone.png` });
  await lunch.getByRole("button", { name: "Reply", exact: true }).tap();
  await expect(p.locator(".replying")).toContainText("Replying to Ann");
  await p.screenshot({ path: `${shots}/reply-phone.png` });
  for (const c of [ann, bob, dark, phone]) await c.close();
});

test("a quote of a message older than the loaded page loads older messages and jumps to it", async ({ browser }) => {
  const room = uniqueRoom("jump");
  const ann = await person(browser, "Ann");
  const a = await enter(ann, `${server.url}/r/${room}`);
  await publishAs(a, room, "Bot", ["the very first plan"]);
  await publishAs(a, room, "Bot", Array.from({ length: 120 }, (_, i) => `filler ${i + 1}`));
  // Reply to seq 1 from a socket of the page's own (the page has not loaded it).
  await a.evaluate(async (room) => {
    const ws = new WebSocket(`ws://${location.host}/ws`);
    await new Promise((r) => (ws.onopen = r));
    ws.send(JSON.stringify({ type: "join", room, name: "Bot" }));
    ws.send(JSON.stringify({ type: "publish", room, body: "about that plan", client_id: "late-reply", reply_to: 1 }));
    await new Promise<void>((resolve) => {
      ws.onmessage = (ev) => { if (JSON.parse(ev.data).type === "ack") resolve(); };
    });
    ws.close();
  }, room);
  const b = await enter(ann, `${server.url}/r/${room}`);
  const quote = row(b, "about that plan").locator(".reply-quote");
  await expect(quote).toContainText("Reply to an earlier message");
  const target = b.locator('.msg[data-seq="1"]');
  await expect(target).toHaveCount(0);
  await quote.click();
  await expect(target).toBeInViewport();
  await expect(target).toHaveClass(/flash/);
  // Once loaded, the quote names its message.
  await expect(quote).toContainText("the very first plan");
  await b.screenshot({ path: `${shots}/reply-jump.png` });
  await ann.close();
});
