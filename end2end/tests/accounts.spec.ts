import { test, expect, type Browser, type Page } from "@playwright/test";
import { signUp } from "../support/accounts";
import { enter, live, person, send, uniqueRoom } from "../support/room";

// Accounts as people use them: sign up in one browser, sign in in another, chat under
// names nobody can take, sign out; the forms work with JavaScript off.

const shots = "test-results/screenshots";

/** A name unique to this run (accounts outlive a test on the shared server). */
const uniqueName = (label: string) => `${label}${Date.now().toString(36).slice(-5)}`;

async function signIn(page: Page, name: string, password: string, next = "/") {
  await page.goto(`/signin?next=${encodeURIComponent(next)}`);
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

async function freshPage(browser: Browser, options = {}) {
  const context = await browser.newContext(options);
  return { context, page: await context.newPage() };
}

test("sign up here, sign in there, chat as yourselves, sign out", async ({ browser }) => {
  const room = uniqueRoom("acct");
  const ann = uniqueName("Ann");
  const bob = uniqueName("Bob");

  const a = await freshPage(browser);
  await signUp(a.page, ann, { password: "ann's long password", next: `/r/${room}` });
  await expect(a.page).toHaveURL(new RegExp(`/r/${room}$`));
  await expect(a.page.locator("body[data-hydrated]")).toBeAttached();
  await live(a.page);
  await expect(a.page.locator(".user-bar .me")).toHaveText(ann);
  // Signed in, nobody asks for a name: the composer is there at once.
  await expect(a.page.getByLabel("Message", { exact: true })).toBeVisible();
  await send(a.page, "hello from an account");

  // Bob makes his account, signs out, and signs in again in a fresh browser.
  const b0 = await freshPage(browser);
  await signUp(b0.page, bob, { password: "bob's long password" });
  await expect(b0.page.locator(".user-bar .me")).toHaveText(bob);
  await b0.context.close();
  const b = await freshPage(browser);
  await signIn(b.page, bob.toLowerCase(), "wrong password!!", `/r/${room}`);
  await expect(b.page.getByRole("alert")).toHaveText("Wrong name or password.");
  await expect(b.page.getByLabel("Name")).toHaveValue(bob.toLowerCase());
  await b.page.getByLabel("Password").fill("bob's long password");
  await b.page.getByRole("button", { name: "Sign in" }).click();
  await expect(b.page).toHaveURL(new RegExp(`/r/${room}$`));
  await live(b.page);
  await expect(b.page.locator(".user-bar .me")).toHaveText(bob, { ignoreCase: false });
  await expect(b.page.locator(".msg .body")).toContainText(["hello from an account"]);
  await send(b.page, "hi Ann, Bob here");
  await expect(a.page.locator(".msg", { hasText: "hi Ann, Bob here" }).locator(".from")).toHaveText(bob);
  // A guest may take Ann's name, but is marked as a guest; the accounts are not.
  const impostor = await enter(await person(browser, ann), `/r/${room}`);
  await send(impostor, "it is me, Ann, really");
  const forged = b.page.locator(".msg", { hasText: "it is me, Ann, really" });
  await expect(forged.locator(".from")).toHaveText(ann);
  await expect(forged.locator(".guest")).toHaveText("guest");
  await expect(b.page.locator(".msg", { hasText: "hello from an account" }).locator(".guest")).toHaveCount(0);
  await b.page.screenshot({ path: `${shots}/signed-in-room.png` });

  // Signing out ends the identity: the page is a guest's again, and so is Ann's other
  // tab in the room (its socket is closed with 4001 and the page asks who it is now).
  const other = await a.context.newPage();
  await other.goto(`/r/${room}`);
  await live(other);
  await expect(other.locator(".user-bar .me")).toHaveText(ann);
  await a.page.getByRole("button", { name: "Sign out" }).click();
  await expect(other.getByRole("link", { name: "Sign in" })).toBeVisible();
  await expect(other.locator(".user-bar .me")).toHaveCount(0);
  await expect(a.page).toHaveURL(/\/$/);
  await expect(a.page.getByRole("link", { name: "Sign in" })).toBeVisible();
  await a.page.screenshot({ path: `${shots}/signed-out-lobby.png` });
  const r = await a.page.request.get("/api/session");
  expect(r.status()).toBe(401);
});

test("the forms work without JavaScript, and look right on desktop, phone and dark", async ({ browser }) => {
  const name = uniqueName("Noa");
  const { page } = await freshPage(browser, { javaScriptEnabled: false });
  await signUp(page, name, { password: "a long enough password" });
  await expect(page.locator(".user-bar .me")).toHaveText(name);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("link", { name: "Sign in" })).toBeVisible();
  // The name is taken in any case; the server says so on the page itself.
  await signUp(page, name.toUpperCase(), { password: "another long password" });
  await expect(page.getByRole("alert")).toHaveText("That name is taken. Pick another one.");
  await signIn(page, name, "not the password");
  await expect(page.getByRole("alert")).toHaveText("Wrong name or password.");
  await page.getByLabel("Password").fill("a long enough password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.locator(".user-bar .me")).toHaveText(name);

  for (const [label, options] of [
    ["desktop", { viewport: { width: 1280, height: 800 } }],
    ["phone", { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true }],
    ["dark", { viewport: { width: 1280, height: 800 }, colorScheme: "dark" as const }],
  ] as const) {
    const shot = await freshPage(browser, options);
    await shot.page.goto("/signin?error=wrong&name=ann");
    await expect(shot.page.getByRole("alert")).toHaveText("Wrong name or password.");
    await shot.page.screenshot({ path: `${shots}/signin-${label}.png` });
    await shot.page.goto("/signup");
    await shot.page.screenshot({ path: `${shots}/signup-${label}.png` });
    await shot.context.close();
  }
});
