import { test, expect, type Page } from "@playwright/test";
import { enter, person, send, uniqueRoom } from "../support/room";

// Reading a room as in Slack or Discord (issue 18): messages grouped by person and day,
// a colour per person, safe links, mentions that stand out and count in the tab's title,
// and a member list that folds away on a phone.

const shots = "test-results/screenshots";
const row = (page: Page, text: string) => page.locator(".msg", { hasText: text });

/** Pretends the tab went to the background (or came back), as the browser would say it. */
async function setHidden(page: Page, hidden: boolean) {
  await page.evaluate((hidden) => {
    Object.defineProperty(document, "visibilityState", { value: hidden ? "hidden" : "visible", configurable: true });
    Object.defineProperty(document, "hidden", { value: hidden, configurable: true });
    document.dispatchEvent(new Event("visibilitychange"));
  }, hidden);
}

test("messages group by person and day; links are safe; a mention of you stands out and counts in the tab", async ({ browser, baseURL }) => {
  const room = uniqueRoom("read");
  const ann = await person(browser, "Ann");
  const bob = await person(browser, "Bob");
  const a = await enter(ann, `${baseURL}/r/${room}`);
  const b = await enter(bob, `${baseURL}/r/${room}`);

  // Two lines by Ann within a minute: one header; Bob's next line opens his own.
  await send(a, "first line");
  await send(a, "second line");
  await send(b, "morning all");
  for (const p of [a, b]) {
    await expect(row(p, "first line")).not.toHaveClass(/continued/);
    await expect(row(p, "second line")).toHaveClass(/continued/);
    await expect(row(p, "morning all")).not.toHaveClass(/continued/);
    await expect(p.getByRole("separator")).toHaveText(["Today"]);
  }
  // Everyone has a colour of their own.
  const colour = (text: string) =>
    row(a, text).locator(".avatar").evaluate((el) => getComputedStyle(el).backgroundColor);
  expect(await colour("first line")).not.toEqual(await colour("morning all"));

  // Ann leaves the tab; Bob writes twice, once to her, with a link and a trap.
  await setHidden(a, true);
  await expect(a).toHaveTitle(`#${room} — Chorus`);
  await send(b, "@Ann the notes: https://example.com/notes?id=7. Not javascript:alert(1) though");
  await send(b, "anyone else?");
  await expect(a).toHaveTitle(`(2, 1 mention) #${room} — Chorus`);
  await setHidden(a, false);
  await expect(a).toHaveTitle(`#${room} — Chorus`);

  const note = row(a, "the notes");
  await expect(note).toHaveClass(/mentions-me/);
  await expect(note.locator(".mention.me")).toHaveText("@Ann");
  const links = note.getByRole("link");
  await expect(links).toHaveCount(1);
  await expect(links).toHaveText("https://example.com/notes?id=7");
  await expect(links).toHaveAttribute("href", "https://example.com/notes?id=7");
  await expect(links).toHaveAttribute("rel", "noopener noreferrer nofollow");
  await expect(links).toHaveAttribute("target", "_blank");
  await expect(note).toContainText("Not javascript:alert(1) though");
  // In Bob's own page the mention is of someone else.
  await expect(row(b, "the notes").locator(".mention")).toHaveClass("mention");
  await expect(row(b, "the notes")).not.toHaveClass(/mentions-me/);
  await a.screenshot({ path: `${shots}/reading-grouped.png` });

  // A reader whose clock says tomorrow sees these under "Yesterday".
  const later = await browser.newContext({ colorScheme: "dark" });
  await later.clock.setFixedTime(new Date(Date.now() + 24 * 3600 * 1000));
  const l = await enter(later, `${baseURL}/r/${room}`);
  await expect(l.getByRole("separator")).toHaveText(["Yesterday"]);
  await l.screenshot({ path: `${shots}/reading-grouped-dark.png` });

  await ann.close();
  await bob.close();
  await later.close();
});

test("on a phone the member list folds into the count, which opens it", async ({ browser, baseURL }) => {
  const room = uniqueRoom("fold");
  const ann = await person(browser, "Ann");
  await enter(ann, `${baseURL}/r/${room}`);
  const phone = await person(browser, "Pia", { viewport: { width: 390, height: 780 }, isMobile: true, hasTouch: true });
  const p = await enter(phone, `${baseURL}/r/${room}`);
  const people = p.getByRole("list", { name: "People here" });
  const count = p.getByRole("button", { name: "2 online" });
  await expect(count).toHaveAttribute("aria-expanded", "false");
  await expect(people).toBeHidden();
  await send(p, "hello from the phone");
  await p.screenshot({ path: `${shots}/reading-phone.png` });
  await count.click();
  await expect(count).toHaveAttribute("aria-expanded", "true");
  await expect(people).toBeVisible();
  await expect(people.getByRole("listitem")).toHaveText(["Ann", "Pia"]);
  await p.screenshot({ path: `${shots}/reading-phone-members.png` });
  await count.click();
  await expect(people).toBeHidden();

  // On a wide screen the list is always there.
  const wide = await enter(ann, `${baseURL}/r/${room}`);
  await expect(wide.getByRole("list", { name: "People here" })).toBeVisible();
  await ann.close();
  await phone.close();
});
