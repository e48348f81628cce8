import { test, expect, type Page } from "@playwright/test";
import { enter, live, person, send, type, uniqueRoom } from "../support/room";
import { OwnServer } from "../support/server";

// The room as people use it: presence, the lobby, going offline, a server restart,
// pending messages, reading a busy room. Two or more browser contexts per test.

const shots = "test-results/screenshots";

const members = (page: Page) => page.getByRole("list", { name: "People here" }).getByRole("listitem");

test("presence: joins and leaves show in the list and the count; two tabs count once", async ({ browser }) => {
  const room = uniqueRoom("presence");
  const ann = await person(browser, "Ann");
  const bob = await person(browser, "Bob");
  const a = await enter(ann, `/r/${room}`);
  await expect(members(a)).toHaveText(["Ann"]);
  await expect(a.locator(".online")).toHaveText("1 online");

  const b1 = await enter(bob, `/r/${room}`);
  await expect(members(a)).toHaveText(["Ann", "Bob"]);
  await expect(a.locator(".online")).toHaveText("2 online");
  await expect(members(b1)).toHaveText(["Ann", "Bob"]);

  // Bob opens a second tab: one more connection, still one Bob.
  const b2 = await enter(bob, `/r/${room}`);
  await expect(a.locator(".online")).toHaveText("3 online");
  await expect(members(a)).toHaveText(["Ann", "Bob"]);
  await a.screenshot({ path: `${shots}/presence.png` });

  // Bob leaves only when both tabs are gone.
  await b1.close();
  await expect(a.locator(".online")).toHaveText("2 online");
  await expect(members(a)).toHaveText(["Ann", "Bob"]);
  await b2.close();
  await expect(a.locator(".online")).toHaveText("1 online");
  await expect(members(a)).toHaveText(["Ann"]);
  await ann.close();
  await bob.close();
});

test("lobby: a room with people appears with a live count", async ({ browser }) => {
  const room = uniqueRoom("lobby-live");
  const ann = await person(browser, "Ann");
  await enter(ann, `/r/${room}`);

  const visitor = await browser.newContext();
  const lobby = await visitor.newPage();
  await lobby.goto("/");
  const entry = lobby.getByRole("region", { name: "Active rooms" }).getByRole("link", { name: new RegExp(room) });
  await expect(entry).toContainText("1 online");

  const bob = await person(browser, "Bob");
  const b = await enter(bob, `/r/${room}`);
  await expect(entry).toContainText("2 online", { timeout: 10_000 });
  await lobby.screenshot({ path: `${shots}/lobby-active.png` });
  await b.close();
  await expect(entry).toContainText("1 online", { timeout: 10_000 });

  // The entry leads into the room.
  await entry.click();
  await expect(lobby).toHaveURL(new RegExp(`/r/${room}$`));
  await ann.close();
  await bob.close();
  await visitor.close();
});

test("offline: a reader who drops out gets everything once, in order, and sees the status", async ({ browser }) => {
  const room = uniqueRoom("offline");
  const ann = await person(browser, "Ann");
  const bob = await person(browser, "Bob");
  const a = await enter(ann, `/r/${room}`);
  const b = await enter(bob, `/r/${room}`);
  await send(a, "before");
  await expect(b.locator(".msg .body")).toHaveText(["before"]);

  await bob.setOffline(true);
  await expect(b.getByTestId("status")).toHaveText("Offline");
  await b.screenshot({ path: `${shots}/offline.png` });
  const five = ["one", "two", "three", "four", "five"];
  for (const text of five) await send(a, text);

  await bob.setOffline(false);
  await live(b);
  await expect(b.locator(".msg .body")).toHaveText(["before", ...five]);
  await ann.close();
  await bob.close();
});

test("pending: a message typed offline shows as sending, then sent once after reconnecting", async ({ browser }) => {
  const room = uniqueRoom("pending");
  const ann = await person(browser, "Ann");
  const bob = await person(browser, "Bob");
  const a = await enter(ann, `/r/${room}`);
  const b = await enter(bob, `/r/${room}`);

  await ann.setOffline(true);
  await expect(a.getByTestId("status")).toHaveText("Offline");
  await type(a, "typed while offline");
  const row = a.locator(".msg", { hasText: "typed while offline" });
  await expect(row).toHaveClass(/pending/);
  await expect(row.locator(".state")).toHaveText("sending…");
  await a.screenshot({ path: `${shots}/pending.png` });

  await ann.setOffline(false);
  await live(a);
  await expect(a.locator(".msg.sent", { hasText: "typed while offline" })).toHaveCount(1);
  await expect(b.locator(".msg", { hasText: "typed while offline" })).toHaveCount(1);
  await expect(a.locator(".msg")).toHaveCount(1);
  await ann.close();
  await bob.close();
});

test.describe("server restart", () => {
  let server: OwnServer;
  test.beforeAll(async () => {
    server = new OwnServer();
    await server.start();
  });
  test.afterAll(async () => {
    await server?.dispose();
  });

  test("both pages reconnect by themselves; a message typed during the outage arrives once", async ({ browser }) => {
    const room = uniqueRoom("restart");
    const ann = await person(browser, "Ann");
    const bob = await person(browser, "Bob");
    const a = await enter(ann, `${server.url}/r/${room}`);
    const b = await enter(bob, `${server.url}/r/${room}`);
    await send(a, "hi Bob");
    await send(b, "hi Ann");

    await server.stop("SIGTERM");
    await expect(a.getByTestId("status")).toHaveText(/Reconnecting/);
    await expect(b.getByTestId("status")).toHaveText(/Reconnecting/);
    await type(a, "sent during the outage");
    await expect(a.locator(".msg.pending", { hasText: "sent during the outage" })).toHaveCount(1);
    await a.screenshot({ path: `${shots}/reconnecting.png` });

    await server.start();
    await live(a);
    await live(b);
    const all = ["hi Bob", "hi Ann", "sent during the outage"];
    await expect(b.locator(".msg .body")).toHaveText(all);
    await expect(a.locator(".msg .body")).toHaveText(all);
    await expect(a.locator(".msg.sent", { hasText: "sent during the outage" })).toHaveCount(1);
    await ann.close();
    await bob.close();
  });

  test("a tab that becomes visible again reconnects at once, not after its backoff", async ({ browser }) => {
    const room = uniqueRoom("wake");
    const ann = await person(browser, "Ann");
    const a = await enter(ann, `${server.url}/r/${room}`);
    await server.stop("SIGTERM");
    // Let the backoff grow to its longest (2.5–5 s).
    await expect(a.getByTestId("status")).toHaveText(/Reconnecting in [3-5]s/, { timeout: 40_000 });
    await server.start();
    // What the browser fires when the tab is shown again or the laptop wakes up.
    await a.evaluate(() => document.dispatchEvent(new Event("visibilitychange")));
    await expect(a.getByTestId("status")).toHaveText("Live", { timeout: 3_000 });
    await send(a, "back at once");
    await ann.close();
  });
});

test("reading: stays put when scrolled up, counts new messages, wraps long words, never renders HTML", async ({ browser }) => {
  const room = uniqueRoom("reading");
  const ann = await person(browser, "Ann", { viewport: { width: 390, height: 700 } });
  const a = await enter(ann, `/r/${room}`);
  const bot = await person(browser, "Bot");
  const b = await enter(bot, `/r/${room}`);

  // Fill the room from the bot's page over its own WebSocket (paced under the rate limit).
  const publishFromBot = async (bodies: string[]) => {
    await b.evaluate(async (bodies) => {
      const ws = new WebSocket(`ws://${location.host}/ws`);
      await new Promise((r) => (ws.onopen = r));
      ws.send(JSON.stringify({ type: "join", room: location.pathname.split("/")[2], name: "Bot" }));
      let acked = 0;
      const done = new Promise<void>((resolve) => {
        ws.onmessage = (ev) => {
          if (JSON.parse(ev.data).type === "ack" && ++acked === bodies.length) resolve();
        };
      });
      for (const [i, body] of bodies.entries()) {
        ws.send(JSON.stringify({
          type: "publish", room: location.pathname.split("/")[2], body,
          client_id: `bot-${Date.now()}-${i}`,
        }));
        await new Promise((r) => setTimeout(r, 120));
      }
      await done;
      ws.close();
    }, bodies);
  };
  const longWord = "x".repeat(300);
  const html = 'see https://example.com and <a href="https://evil.example">click</a> <img src=x onerror=alert(1)>';
  await publishFromBot([...Array.from({ length: 30 }, (_, i) => `message ${i + 1}`), longWord, html]);
  await expect(a.locator(".msg")).toHaveCount(32);

  // At the bottom, the list follows; long words wrap inside the column; HTML is text.
  const list = a.getByRole("list", { name: "Messages" });
  const atBottom = () => list.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight < 40);
  await expect.poll(atBottom).toBe(true);
  const longRow = a.locator(".msg", { hasText: longWord.slice(0, 50) });
  expect(await longRow.evaluate((el) => el.scrollWidth <= el.clientWidth + 1)).toBe(true);
  const htmlRow = a.locator(".msg", { hasText: "click" });
  // The typed HTML makes no element; only the addresses in it are links, showing where they go.
  await expect(htmlRow.locator(".body img")).toHaveCount(0);
  await expect(htmlRow.locator(".body a")).toHaveText(["https://example.com", "https://evil.example"]);
  for (const link of await htmlRow.locator(".body a").all()) {
    expect(await link.getAttribute("href")).toBe(await link.textContent());
  }
  await expect(htmlRow.locator(".body")).toHaveText(html);

  // Scrolled up, new messages do not move the view; a pill counts them.
  await list.evaluate((el) => el.scrollTo(0, 0));
  await expect.poll(atBottom).toBe(false);
  await publishFromBot(["new 1", "new 2", "new 3"]);
  await expect(a.locator(".msg")).toHaveCount(35);
  const pill = a.getByRole("button", { name: /new messages/ });
  await expect(pill).toHaveText("3 new messages ↓");
  expect(await list.evaluate((el) => el.scrollTop)).toBeLessThan(50);
  await a.screenshot({ path: `${shots}/new-messages-pill.png` });
  await pill.click();
  await expect.poll(atBottom).toBe(true);
  await expect(pill).toHaveCount(0);

  // The keyboard reaches the composer, and Enter sends.
  await a.locator("body").focus();
  let focused = "";
  for (let i = 0; i < 15 && focused !== "TEXTAREA"; i++) {
    await a.keyboard.press("Tab");
    focused = await a.evaluate(() => document.activeElement?.tagName ?? "");
  }
  expect(focused).toBe("TEXTAREA");
  await a.keyboard.type("typed with the keyboard only");
  await a.keyboard.press("Enter");
  await expect(a.locator(".msg.sent", { hasText: "typed with the keyboard only" })).toHaveCount(1);
  await a.screenshot({ path: `${shots}/room-phone-long.png` });
  await ann.close();
  await bot.close();
});

test("looks: dark mode from the system setting, desktop and phone", async ({ browser }) => {
  const room = uniqueRoom("looks");
  const dark = await person(browser, "Nova", { colorScheme: "dark", viewport: { width: 1280, height: 800 } });
  const a = await enter(dark, `/r/${room}`);
  await send(a, "Dark mode follows the system setting.");
  const bg = await a.locator(".room").evaluate((el) => getComputedStyle(el).backgroundColor);
  const [r, g, b] = bg.match(/\d+/g)!.map(Number);
  expect(r + g + b).toBeLessThan(200);
  await a.screenshot({ path: `${shots}/room-dark-desktop.png` });
  const phone = await person(browser, "Pia", { colorScheme: "dark", viewport: { width: 390, height: 780 } });
  const p = await enter(phone, `/r/${room}`);
  await expect(p.locator(".msg")).toHaveCount(1);
  await p.screenshot({ path: `${shots}/room-dark-phone.png` });
  await dark.close();
  await phone.close();
});
