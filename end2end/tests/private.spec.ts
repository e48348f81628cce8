import { test, expect, type Browser, type Page } from "@playwright/test";
import { signUp } from "../support/accounts";
import { live, send } from "../support/room";

// A private room as people use one: create it, invite, the invitee makes an account,
// accepts, and they chat; a guest finds nothing, not even in the lobby.

const shots = "test-results/screenshots";
const unique = (label: string) => `${label}${Date.now().toString(36).slice(-5)}`;

async function fresh(browser: Browser, options = {}) {
  const context = await browser.newContext(options);
  return context.newPage();
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

test("the owner manages members: add by name, make a moderator, remove", async ({ browser }) => {
  const room = unique("crew-");
  const ann = unique("Ann");
  const bob = unique("Bob");

  const b = await fresh(browser);
  await signUp(b, bob);
  const a = await fresh(browser);
  await signUp(a, ann);
  await a.getByText("Create a room").click();
  await a.getByLabel("Room name").fill(room);
  await a.getByLabel("Private: only people you invite can see it").check();
  await a.getByRole("button", { name: "Create room" }).click();
  await live(a);

  // Bob cannot see the room yet.
  expect((await b.goto(`/r/${room}`))?.status()).toBe(404);

  await a.getByRole("link", { name: "Members" }).click();
  await expect(a).toHaveURL(new RegExp(`/r/${room}/members$`));
  await expect(a.getByRole("heading", { name: `Members of #${room}` })).toBeVisible();
  const roster = a.getByRole("list", { name: "Members" });
  await expect(roster.locator(".roster-row")).toHaveCount(1);
  await expect(roster.locator(".role-badge")).toHaveText("Owner");

  // A name that is no account says so; Bob's (typed in another case) adds him.
  await a.getByLabel("Account name").fill("nobody-at-all");
  await a.getByRole("button", { name: "Add", exact: true }).click();
  await expect(a.getByText("There is no account with that name")).toBeVisible();
  await a.getByLabel("Account name").fill(bob.toLowerCase());
  await a.getByLabel("Role", { exact: true }).selectOption("moderator");
  await a.getByRole("button", { name: "Add", exact: true }).click();
  await expect(a.getByText("Added.")).toBeVisible();
  await expect(roster.locator(".roster-row")).toHaveCount(2);
  await expect(a.getByLabel(`Role of ${bob}`)).toHaveValue("moderator");
  await a.screenshot({ path: `${shots}/members-desktop.png` });

  // Bob is in, and as a moderator sees the Members link too.
  await b.goto(`/r/${room}`);
  await live(b);
  await expect(b.getByRole("link", { name: "Members" })).toBeVisible();

  // Made a plain member, then removed: his next visit finds nothing.
  await a.getByLabel(`Role of ${bob}`).selectOption("member");
  await a.getByRole("button", { name: "Save" }).click();
  await expect(a.getByText("Saved.")).toBeVisible();
  await expect(a.getByLabel(`Role of ${bob}`)).toHaveValue("member");
  await a.getByRole("button", { name: "Remove" }).click();
  await expect(a.getByText("Removed.")).toBeVisible();
  await expect(roster.locator(".roster-row")).toHaveCount(1);
  // Bob's open page is out of the room at once and says so.
  await expect(b.locator(".notice")).toHaveText("You are no longer a member of this room.");
  await expect(b.getByTestId("status")).toHaveText("Not a member");
  await b.screenshot({ path: `${shots}/removed-member.png` });
  expect((await b.goto(`/r/${room}`))?.status()).toBe(404);
  // A former member cannot open the member page either.
  expect((await b.goto(`/r/${room}/members`))?.status()).toBe(404);

  // The same page on a phone, and dark.
  const phone = await a.context().browser()!.newContext({
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
    storageState: await a.context().storageState(),
  });
  const p = await phone.newPage();
  await p.goto(`/r/${room}/members`);
  await p.screenshot({ path: `${shots}/members-phone.png` });
  const dark = await a.context().browser()!.newContext({
    colorScheme: "dark",
    storageState: await a.context().storageState(),
  });
  const d = await dark.newPage();
  await d.goto(`/r/${room}/members`);
  await d.screenshot({ path: `${shots}/members-dark.png` });
});
