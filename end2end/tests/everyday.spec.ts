import { test, expect, type Page } from "@playwright/test";
import { enter, live, person, publishAs, send, uniqueRoom } from "../support/room";
import { OwnServer, UNLIMITED_PUBLISHING } from "../support/server";

// The bugs a Slack or Discord user hit within a minute (issue 18), one test each, on a
// server of this file's own with the publish limits lifted (a busy room is filled fast).
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


const list = (page: Page) => page.getByRole("list", { name: "Messages" });
const atBottom = (page: Page) =>
  list(page).evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight < 2);

/** The newest row is wholly visible: inside the list and above the composer. */
async function newestFullyShown(page: Page): Promise<boolean> {
  const last = await page.locator(".msg").last().boundingBox();
  const box = await list(page).boundingBox();
  const composer = await page.locator(".composer").boundingBox();
  if (!last || !box || !composer) return false;
  const bottom = last.y + last.height;
  return bottom <= box.y + box.height + 0.5 && bottom <= composer.y + 0.5;
}

test("a busy room opens at its newest message: from the lobby, by link and on reload", async ({ browser }) => {
  const room = uniqueRoom("busy");
  const ann = await person(browser, "Ann");
  const a = await ann.newPage();
  await a.goto(`${server.url}/`);
  await expect(a.locator("body[data-hydrated]")).toBeAttached();
  await publishAs(a, room, "Bot", Array.from({ length: 80 }, (_, i) => `busy line ${i + 1}`));

  // From the lobby (a client-side navigation).
  await a.getByLabel("Room", { exact: true }).fill(room);
  await a.getByRole("button", { name: "Join room" }).click();
  await live(a);
  await expect(a.locator(".msg").last()).toContainText("busy line 80");
  await expect.poll(() => atBottom(a)).toBe(true);
  await expect.poll(() => newestFullyShown(a)).toBe(true);

  // By link, and again on reload.
  const b = await enter(ann, `${server.url}/r/${room}`);
  await expect.poll(() => atBottom(b)).toBe(true);
  await expect.poll(() => newestFullyShown(b)).toBe(true);
  await b.reload();
  await live(b);
  await expect.poll(() => atBottom(b)).toBe(true);
  await expect.poll(() => newestFullyShown(b)).toBe(true);
  await ann.close();
});

test("a reader at the bottom never sees the new-messages pill while 300 messages pour in", async ({ browser }) => {
  const room = uniqueRoom("pour");
  const ann = await person(browser, "Ann");
  const a = await enter(ann, `${server.url}/r/${room}`);
  // Record whether the pill ever shows, however briefly.
  await a.evaluate(() => {
    (window as any).pillSeen = 0;
    new MutationObserver(() => {
      if (document.querySelector(".new-pill")) (window as any).pillSeen++;
    }).observe(document.body, { childList: true, subtree: true });
  });
  const bot = await person(browser, "Bot");
  const b = await enter(bot, `${server.url}/r/${room}`);
  await publishAs(b, room, "Bot", Array.from({ length: 300 }, (_, i) => `pour ${i + 1}`), 3);
  await expect(a.locator(".msg").last()).toContainText("pour 300");
  await expect.poll(() => atBottom(a)).toBe(true);
  expect(await a.evaluate(() => (window as any).pillSeen)).toBe(0);
  await ann.close();
  await bot.close();
});

test("the lobby logs no console errors (the room field's pattern is valid)", async ({ page }) => {
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  await page.goto(`${server.url}/`);
  await expect(page.locator("body[data-hydrated]")).toBeAttached();
  const room = page.getByLabel("Room", { exact: true });
  await room.fill("no spaces allowed");
  expect(await room.evaluate((el: HTMLInputElement) => el.validity.patternMismatch)).toBe(true);
  await room.fill("fine-name_2");
  expect(await room.evaluate((el: HTMLInputElement) => el.validity.valid)).toBe(true);
  expect(errors).toEqual([]);
});

test("a link opened before picking a name reads the room live; a name makes you speak", async ({ browser }) => {
  const room = uniqueRoom("link");
  const ann = await person(browser, "Ann");
  const a = await enter(ann, `${server.url}/r/${room}`);
  await send(a, "is anyone reading?");

  // No saved name: the page still goes live and shows who is here.
  const stranger = await browser.newContext({ viewport: { width: 390, height: 760 }, isMobile: true, hasTouch: true });
  const s = await stranger.newPage();
  await s.goto(`${server.url}/r/${room}`);
  await live(s);
  await expect(s.locator(".online")).toHaveText("1 online");
  await send(a, "yes, live");
  await expect(s.locator(".msg .body")).toContainText(["is anyone reading?", "yes, live"]);
  await expect(a.locator(".online")).toHaveText("1 online"); // a reader is nobody yet
  await s.screenshot({ path: `${shots}/reader-phone.png` });

  // Picking a name joins the conversation on the same socket.
  await s.getByLabel("Your name").fill("Sam");
  await s.getByRole("button", { name: "Join", exact: true }).click();
  await expect(a.locator(".online")).toHaveText("2 online");
  await send(s, "hi, Sam here");
  await expect(a.locator(".msg", { hasText: "hi, Sam here" })).toContainText("Sam");
  await ann.close();
  await stranger.close();
});

/** WCAG contrast of an element's text against its own background. */
async function contrast(page: Page, selector: string): Promise<number> {
  return page.locator(selector).evaluate((el) => {
    const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number);
    const lum = ([r, g, b]: number[]) => {
      const f = (v: number) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const style = getComputedStyle(el);
    const [a, b] = [lum(rgb(style.color)), lum(rgb(style.backgroundColor))].sort((x, y) => y - x);
    return (a + 0.05) / (b + 0.05);
  });
}

test("the status badge is readable (AA) in light and dark and has a name", async ({ browser }) => {
  const room = uniqueRoom("badge");
  for (const colorScheme of ["light", "dark"] as const) {
    const ctx = await person(browser, "Ann", { colorScheme });
    const a = await enter(ctx, `${server.url}/r/${room}`);
    await expect(a.getByRole("status", { name: "Connection: Live" })).toBeVisible();
    expect(await contrast(a, "[data-testid=status]")).toBeGreaterThanOrEqual(4.5);
    await ctx.close();
  }
});

test("right-to-left messages read right to left", async ({ browser }) => {
  const room = uniqueRoom("rtl");
  const ctx = await person(browser, "Ann");
  const a = await enter(ctx, `${server.url}/r/${room}`);
  await send(a, "مرحبا بالجميع");
  await send(a, "hello everyone");
  const dir = (text: string) =>
    a.locator(".msg .body", { hasText: text }).evaluate((el) => getComputedStyle(el).direction);
  expect(await dir("مرحبا")).toBe("rtl");
  expect(await dir("hello everyone")).toBe("ltr");
  await expect(a.getByLabel("Message", { exact: true })).toHaveAttribute("dir", "auto");
  await ctx.close();
});

test("a long paste is kept and counted, never cut; over the limit it cannot be sent", async ({ browser }) => {
  const room = uniqueRoom("paste");
  const ctx = await person(browser, "Ann");
  const a = await enter(ctx, `${server.url}/r/${room}`);
  const box = a.getByLabel("Message", { exact: true });
  await box.fill("y".repeat(4100));
  expect(await box.inputValue()).toHaveLength(4100);
  await expect(a.locator(".composer .count")).toHaveText("100 characters too long: shorten it to send");
  await expect(a.getByRole("button", { name: "Send", exact: true })).toBeDisabled();
  await box.press("Enter");
  await expect(a.locator(".msg")).toHaveCount(0);
  await a.screenshot({ path: `${shots}/composer-too-long.png` });
  await box.fill("y".repeat(3990));
  await expect(a.locator(".composer .count")).toHaveText("10 characters left");
  await box.press("Enter");
  await expect(a.locator(".msg.sent")).toHaveCount(1);
  await expect(a.locator(".composer .count")).toBeHidden();
  await expect(box).toBeFocused();
  // A draft survives a reload.
  await box.fill("half a thought");
  await a.reload();
  await live(a);
  await expect(a.getByLabel("Message", { exact: true })).toHaveValue("half a thought");
  await ctx.close();
});

test("after a 12 s outage the page is live within 6 s of the server's return; Reconnect now skips the wait", async ({ browser }) => {
  test.setTimeout(90_000);
  const room = uniqueRoom("outage");
  const ctx = await person(browser, "Ann");
  const a = await enter(ctx, `${server.url}/r/${room}`);
  await server.stop("SIGTERM");
  await a.waitForTimeout(12_000);
  await server.start();
  const back = Date.now();
  await expect(a.getByTestId("status")).toHaveText("Live", { timeout: 6_000 });
  expect(Date.now() - back).toBeLessThan(6_000);

  await server.stop("SIGTERM");
  await expect(a.getByTestId("status")).toHaveText(/Reconnecting in [3-5]s/, { timeout: 30_000 });
  const now = a.getByRole("button", { name: "Reconnect now" });
  await expect(now).toBeVisible();
  await a.screenshot({ path: `${shots}/reconnect-now.png` });
  await server.start();
  await now.click();
  await expect(a.getByTestId("status")).toHaveText("Live", { timeout: 2_000 });
  await expect(now).toHaveCount(0);
  await send(a, "back");
  await ctx.close();
});
