import { test, expect, type Page } from "@playwright/test";
import { passwordOf } from "../support/accounts";
import { enter, live, person, publishAs, send, uniqueRoom } from "../support/room";
import { OwnServer, UNLIMITED_PUBLISHING } from "../support/server";

// The rooms sidebar (issue 18), with two people: while Ann reads one room, Bob writes in
// another of hers; her sidebar counts it and marks the mention, without a reload, on the
// page's one socket; switching rooms keeps each list where she left it.
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

const side = (page: Page, room: string) => page.locator(`.side-room[data-room="${room}"]`);
const list = (page: Page) => page.getByRole("list", { name: "Messages" });

/** Every WebSocket the page opens from now on (the page's own, not publishAs's). */
function socketsOf(page: Page): string[] {
  const urls: string[] = [];
  page.on("websocket", (ws) => urls.push(ws.url()));
  return urls;
}

test("unread counts and mentions from another room arrive live, on one socket, and switching keeps scroll", async ({ browser }) => {
  const roomA = uniqueRoom("side-a");
  const roomB = uniqueRoom("side-b");
  const ann = await person(browser, "Ann");
  const bob = await person(browser, "Bob");
  const b = await enter(bob, `${server.url}/r/${roomB}`);
  // A long room A, so that scrolling means something.
  await publishAs(b, roomA, "Bot", Array.from({ length: 80 }, (_, i) => `line ${i + 1} of the long room`));
  await send(b, "welcome to B");

  // Ann has been in B before; now she reads A.
  const first = await enter(ann, `${server.url}/r/${roomB}`);
  await first.close();
  const a = await ann.newPage();
  const sockets = socketsOf(a);
  await a.goto(`${server.url}/r/${roomA}`);
  await expect(a.locator("body[data-hydrated]")).toBeAttached();
  await live(a);
  await expect(side(a, roomA)).toHaveAttribute("aria-current", "page");
  await expect(side(a, roomB)).toBeVisible();
  await expect(side(a, roomB).locator(".side-unread")).toHaveCount(0);

  // She scrolls up in A to read older lines.
  await list(a).evaluate((el) => (el.scrollTop = 300));
  await a.waitForTimeout(200);
  const kept = await list(a).evaluate((el) => el.scrollTop);
  expect(kept).toBeGreaterThan(200);

  // Bob writes in B, mentioning her: her sidebar shows 2 and the mention mark.
  await send(b, "are you around?");
  await send(b, "@Ann the build is green");
  await expect(side(a, roomB).locator(".side-unread")).toHaveText("2");
  await expect(side(a, roomB).locator(".side-mention")).toBeVisible();
  await expect(side(a, roomB)).toContainText("2 unread, 1 mentioning you");
  await a.screenshot({ path: `${shots}/sidebar.png` });

  // She switches to B: no reload (the marker stays), B's messages are there, its count
  // goes, and still one socket for both rooms.
  await a.evaluate(() => ((window as any).stillHere = true));
  await side(a, roomB).click();
  await expect(a).toHaveURL(new RegExp(`/r/${roomB}$`));
  await expect(a.locator(".msg", { hasText: "the build is green" })).toBeVisible();
  await expect(side(a, roomB)).toHaveAttribute("aria-current", "page");
  await expect(side(a, roomB).locator(".side-unread")).toHaveCount(0);
  expect(await a.evaluate(() => (window as any).stillHere)).toBe(true);
  await live(a);

  // Back to A: where she left it.
  await side(a, roomA).click();
  await expect(a).toHaveURL(new RegExp(`/r/${roomA}$`));
  await expect(a.locator(".msg", { hasText: "line 80 of the long room" })).toBeAttached();
  await expect.poll(() => list(a).evaluate((el) => el.scrollTop)).toBeGreaterThan(kept - 10);
  expect(await list(a).evaluate((el) => el.scrollTop)).toBeLessThan(kept + 10);
  // B was read up to the mention: nothing unread there any more.
  await expect(side(a, roomB).locator(".side-unread")).toHaveCount(0);
  expect(sockets, "one socket carries every room").toHaveLength(1);

  // What comes to B next counts from where she read it.
  await send(b, "one more in B");
  await expect(side(a, roomB).locator(".side-unread")).toHaveText("1");
  await ann.close();
  await bob.close();
});

test("on a phone the sidebar is a drawer; dark mode", async ({ browser }) => {
  const roomA = uniqueRoom("drawer-a");
  const roomB = uniqueRoom("drawer-b");
  const phone = await person(browser, "Ann", { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
  const bob = await person(browser, "Bob");
  const b = await enter(bob, `${server.url}/r/${roomB}`);
  await send(b, "first in B");
  const pb = await enter(phone, `${server.url}/r/${roomB}`);
  await pb.close();
  const p = await enter(phone, `${server.url}/r/${roomA}`);
  await expect(p.locator(".sidebar")).toBeHidden();
  await send(b, "@Ann lunch?");
  const toggle = p.getByRole("button", { name: /^Rooms/ });
  await expect(toggle).toHaveAttribute("aria-label", "Rooms (unread messages)");
  await toggle.tap();
  await expect(p.locator(".sidebar")).toBeVisible();
  await expect(side(p, roomB).locator(".side-unread")).toHaveText("1");
  await expect(side(p, roomB).locator(".side-mention")).toBeVisible();
  await p.waitForTimeout(300); // the drawer's slide
  await p.screenshot({ path: `${shots}/sidebar-phone.png` });
  await side(p, roomB).tap();
  await expect(p).toHaveURL(new RegExp(`/r/${roomB}$`));
  await expect(p.locator(".sidebar")).toBeHidden();
  await expect(p.locator(".msg", { hasText: "lunch?" })).toBeVisible();
  await expect(toggle).toHaveAttribute("aria-label", "Rooms");
  await phone.close();

  const dark = await person(browser, "Ann", { colorScheme: "dark" });
  const db = await enter(dark, `${server.url}/r/${roomB}`);
  await db.close();
  const d = await enter(dark, `${server.url}/r/${roomA}`);
  await send(b, "@Ann dark side");
  await expect(side(d, roomB).locator(".side-unread")).toHaveText("1");
  await d.screenshot({ path: `${shots}/sidebar-dark.png` });
  await dark.close();
  await bob.close();
});

test("a signed-in user's rooms are listed on a browser that never opened them", async ({ browser }) => {
  const unique = (label: string) => `${label}${Date.now().toString(36).slice(-5)}`;
  const room = unique("ours-");
  const name = unique("Dee");
  const first = await (await browser.newContext()).newPage();
  await first.goto(`${server.url}/signup`);
  await first.getByLabel("Name").fill(name);
  await first.getByLabel("Password").fill(passwordOf(name));
  await first.getByRole("button", { name: "Create account" }).click();
  await first.getByText("Create a room").click();
  await first.getByLabel("Room name").fill(room);
  await first.getByLabel("Private: only people you invite can see it").check();
  await first.getByRole("button", { name: "Create room" }).click();
  await expect(first).toHaveURL(new RegExp(`/r/${room}$`));

  // Another browser: sign in, open some other room; the private one is in the sidebar.
  const other = await (await browser.newContext()).newPage();
  await other.goto(`${server.url}/signin`);
  await other.getByLabel("Name").fill(name);
  await other.getByLabel("Password").fill(passwordOf(name));
  await other.getByRole("button", { name: "Sign in" }).click();
  await other.goto(`${server.url}/r/${uniqueRoom("elsewhere")}`);
  await expect(other.locator("body[data-hydrated]")).toBeAttached();
  await live(other);
  await expect(side(other, room)).toBeVisible();
  // Their own message from the other browser is not unread for them; the room is one
  // click away, with the message in it.
  await send(first, "only for us");
  await other.waitForTimeout(500);
  await expect(side(other, room)).not.toHaveClass(/has-unread/);
  await side(other, room).click();
  await expect(other).toHaveURL(new RegExp(`/r/${room}$`));
  await expect(other.locator(".msg", { hasText: "only for us" })).toBeVisible();
});
