import { test, expect, type Browser, type Page } from "@playwright/test";
import { live, send } from "../support/room";

// A private room as people use one: create it, invite, the invitee makes an account,
// accepts, and they chat; a guest finds nothing, not even in the lobby.

const shots = "test-results/screenshots";
const unique = (label: string) => `${label}${Date.now().toString(36).slice(-5)}`;

async function fresh(browser: Browser, options = {}) {
  const context = await browser.newContext(options);
  return context.newPage();
}

async function signUp(page: Page, name: string, next = "/") {
  await page.goto(`/signup?next=${encodeURIComponent(next)}`);
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Password").fill(`${name}'s long password`);
  await page.getByRole("button", { name: "Create account" }).click();
}

test("create a private room, invite someone, chat; guests see nothing", async ({ browser }) => {
  const room = unique("hideout-");
  const ann = unique("Ann");
  const bob = unique("Bob");

  const a = await fresh(browser);
  await signUp(a, ann);
  await a.getByText("Create a room").click();
  await a.getByLabel("Room name").fill(room);
  await a.getByLabel("Private: only people you invite can see it").check();
  await a.getByRole("button", { name: "Create room" }).click();
  await expect(a).toHaveURL(new RegExp(`/r/${room}$`));
  await live(a);
  await expect(a.getByLabel("Private room")).toBeVisible();
  await send(a, "welcome to the hideout");
  await a.getByRole("button", { name: "Invite" }).click();
  const link = a.getByLabel("Invite link");
  await expect(link).toHaveValue(/\/i\/[0-9a-f]{32}$/);
  const invite = await link.inputValue();
  await a.screenshot({ path: `${shots}/private-room-invite.png` });

  // A guest: the room is not found, and not in the lobby either.
  const g = await fresh(browser);
  const resp = await g.goto(`/r/${room}`);
  expect(resp?.status()).toBe(404);
  await expect(g.getByRole("heading", { name: "Not found" })).toBeVisible();
  await g.goto("/");
  await expect(g.locator("body[data-hydrated]")).toBeAttached();
  await expect(g.locator(`a[href="/r/${room}"]`)).toHaveCount(0);

  // Bob follows the link, makes an account on the way, and joins.
  const b = await fresh(browser, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await b.goto(invite);
  await expect(b.getByRole("heading", { name: `You're invited to #${room}` })).toBeVisible();
  await b.screenshot({ path: `${shots}/invite-signed-out-phone.png` });
  await b.getByRole("link", { name: "create an account" }).click();
  await b.getByLabel("Name").fill(bob);
  await b.getByLabel("Password").fill("bob's long password");
  await b.getByRole("button", { name: "Create account" }).click();
  await expect(b).toHaveURL(/\/i\/[0-9a-f]{32}$/);
  await b.getByRole("button", { name: `Join as ${bob}` }).click();
  await expect(b).toHaveURL(new RegExp(`/r/${room}$`));
  await live(b);
  await expect(b.locator(".msg .body")).toContainText(["welcome to the hideout"]);
  await send(b, "thanks for the invite");
  await expect(a.locator(".msg", { hasText: "thanks for the invite" }).locator(".from")).toHaveText(bob);
  await expect(b.getByRole("button", { name: "Invite" })).toHaveCount(0);
  await b.screenshot({ path: `${shots}/private-room-phone.png` });

  const d = await fresh(browser, { colorScheme: "dark" });
  await d.goto(invite);
  await d.screenshot({ path: `${shots}/invite-dark.png` });
});
