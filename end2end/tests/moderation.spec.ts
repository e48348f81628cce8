import { test, expect, type Page } from "@playwright/test";
import { newAccount } from "../support/accounts";
import { enter, live, person, send } from "../support/room";

// Moderation as people use it: the author fixes a typo, the room's owner takes down a
// guest's spam and bans someone from the name menu; the others see it happen live.

const shots = "test-results/screenshots";
const unique = (label: string) => `${label}${Date.now().toString(36).slice(-5)}`;

/** The row of the message saying `text`. */
const row = (page: Page, text: string) => page.locator(".msg", { hasText: text });

test("the author edits, the owner deletes spam and bans; everyone sees it live", async ({ browser }) => {
  const room = unique("mods-");
  const ann = unique("Ann");
  const bob = unique("Bob");

  // Ann makes a public room: she owns it, so she moderates it.
  const a = await newAccount(browser, ann);
  await a.getByText("Create a room").click();
  await a.getByLabel("Room name").fill(room);
  await a.getByRole("button", { name: "Create room" }).click();
  await expect(a).toHaveURL(new RegExp(`/r/${room}$`));
  await live(a);
  const b = await newAccount(browser, bob, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await b.goto(`/r/${room}`);
  await live(b);
  const g = await enter(await person(browser, "Spammer"), `/r/${room}`);

  // Bob fixes his typo: Edit, change, Enter. Both pages say "(edited)".
  await send(b, "see you at the meetnig");
  // A phone has no hover: a tap on the row shows its actions.
  await row(b, "meetnig").tap();
  await row(b, "meetnig").getByRole("button", { name: "Edit" }).click();
  const box = b.getByLabel("Edit message");
  await expect(box).toBeFocused();
  await box.fill("see you at the meeting");
  await box.press("Enter");
  for (const p of [a, b]) {
    await expect(row(p, "see you at the meeting")).toContainText("(edited)");
  }
  await expect(row(a, "meeting").getByRole("button", { name: "Edit" })).toHaveCount(0);

  // A guest's spam: Bob has no Delete on it; Ann does, with a confirmation.
  await send(g, "cheap watches at spam.example");
  await expect(row(b, "cheap watches")).toHaveCount(1);
  await expect(row(b, "cheap watches").getByRole("button", { name: "Delete" })).toHaveCount(0);
  const spam = row(a, "cheap watches");
  await spam.hover();
  await spam.getByRole("button", { name: "Delete" }).click();
  await expect(spam.getByText("Delete this message?")).toBeVisible();
  await a.screenshot({ path: `${shots}/moderation-delete-confirm.png` });
  await spam.getByRole("button", { name: "Delete" }).click();
  for (const p of [a, b, g]) {
    await expect(p.locator(".msg .body.deleted")).toHaveText(["message deleted"]);
    await expect(p.getByText("cheap watches")).toHaveCount(0);
  }
  await b.screenshot({ path: `${shots}/moderation-deleted-phone.png` });

  // Keyboard: Tab reaches Bob's name button in Ann's page; it opens the menu.
  const name = row(a, "meeting").getByRole("button", { name: bob });
  await name.focus();
  await name.press("Enter");
  const menu = a.getByRole("menu", { name: "Moderate" });
  await expect(menu).toBeVisible();
  await a.screenshot({ path: `${shots}/moderation-menu.png` });
  await a.emulateMedia({ colorScheme: "dark" });
  await a.screenshot({ path: `${shots}/moderation-menu-dark.png` });
  await a.emulateMedia({ colorScheme: "light" });
  await menu.getByRole("menuitem", { name: "Ban from the room" }).click();

  // Bob's page says so and stops; his reload finds the room closed to him.
  await expect(b.getByTestId("status")).toHaveText("Banned");
  await expect(b.getByRole("alert")).toHaveText("You have been banned from this room.");
  await b.screenshot({ path: `${shots}/moderation-banned-phone.png` });

  // The room's settings: the log lists every act, newest first; slow mode is set there.
  await a.goto(`/r/${room}/members`);
  const log = a.getByRole("list", { name: "Moderation log" });
  await expect(log.locator("li")).toHaveCount(3);
  await expect(log.locator("li").first()).toContainText(`${ann} banned ${bob}`);
  await expect(log).toContainText(`${ann} deleted a message #`);
  await expect(log).toContainText(`${bob} edited a message`);
  await a.getByLabel("One message per person every").selectOption("30");
  await a.getByRole("button", { name: "Set slow mode" }).click();
  await expect(a.getByRole("status")).toHaveText("Slow mode saved.");
  await expect(log.locator("li").first()).toContainText("set slow mode to 30 s");
  await a.screenshot({ path: `${shots}/moderation-log.png`, fullPage: true });
});
