import { test, expect, type Page } from "@playwright/test";
import { Embedder, SECRET } from "../support/embedder";
import { OwnServer } from "../support/server";

// An application embeds a room and signs it in with short tokens: the frame refreshes
// them on the open socket before they end, and after an outage of the application's
// token answers it reads as a guest, then signs in again with a fresh token.
test.describe.configure({ mode: "serial" });

const TTL_SECS = 6;
let server: OwnServer;
let app: Embedder;

test.beforeAll(async () => {
  app = new Embedder("app:ann", "Ann", TTL_SECS);
  const origin = await app.listen();
  server = new OwnServer([
    "--jwt-secret",
    SECRET,
    "--jwt-leeway",
    "0s",
    "--embed-origins",
    origin,
  ]);
  await server.start();
});
test.afterAll(async () => {
  await server?.dispose();
  await app?.close();
});

async function requests(page: Page): Promise<number> {
  return page.evaluate(() => (window as unknown as { chorusRequests: number }).chorusRequests);
}

test("an embedded room is signed in by the application and refreshes its token on the open socket", async ({
  page,
}) => {
  const room = `embed-${Date.now().toString(36)}`;
  const sockets: string[] = [];
  page.on("websocket", (ws) => sockets.push(ws.url()));
  await page.goto(app.pageFor(server.url, room));
  const frame = page.frameLocator("#chat");
  await expect(frame.getByTestId("status")).toHaveText("Live");
  await expect(frame.getByTestId("me")).toHaveText("Ann");
  await frame.getByRole("textbox", { name: "Message" }).fill("hello from the app");
  await frame.getByRole("textbox", { name: "Message" }).press("Enter");
  await expect(frame.locator(".msg.sent .body")).toHaveText(["hello from the app"]);
  // The name is the token's, and not a guest's.
  await expect(frame.locator(".msg .from")).toHaveText(["Ann"]);
  await expect(frame.locator(".msg .guest")).toHaveCount(0);
  // Reactions work in the frame too, as the signed-in user.
  const mine = frame.locator(".msg", { hasText: "hello from the app" });
  await mine.hover();
  await mine.getByRole("button", { name: "Add reaction" }).click();
  await frame.getByRole("menuitem", { name: "React with 🎉" }).click();
  await expect(mine.locator(".chip", { hasText: "🎉" })).toHaveAttribute("aria-pressed", "true");
  await expect(mine.locator(".chip", { hasText: "🎉" })).toContainText("1");

  // Three token lifetimes on one socket: refreshed before each end, never closed.
  await page.waitForTimeout(TTL_SECS * 3 * 1000);
  expect(await requests(page)).toBeGreaterThanOrEqual(4);
  await expect(frame.getByTestId("status")).toHaveText("Live");
  expect(sockets.length, `sockets opened: ${sockets.join(", ")}`).toBe(1);
  await frame.getByRole("textbox", { name: "Message" }).fill("still here");
  await frame.getByRole("textbox", { name: "Message" }).press("Enter");
  await expect(frame.locator(".msg.sent .body")).toHaveText(["hello from the app", "still here"]);
  await page.screenshot({ path: "test-results/screenshots/embed-desktop.png" });
});

test("when the application stops answering, the room reads as a guest, then signs in again", async ({
  page,
}) => {
  const room = `embed-out-${Date.now().toString(36)}`;
  await page.goto(app.pageFor(server.url, room));
  const frame = page.frameLocator("#chat");
  await expect(frame.getByTestId("me")).toHaveText("Ann");
  await frame.getByRole("textbox", { name: "Message" }).fill("before the outage");
  await frame.getByRole("textbox", { name: "Message" }).press("Enter");
  await expect(frame.locator(".msg.sent .body")).toHaveText(["before the outage"]);

  // The application stops answering: the token ends (4001), the frame reconnects, asks,
  // gets nothing, and reads as a guest; messages still arrive.
  await page.evaluate(() => ((window as unknown as { chorusAnswer: boolean }).chorusAnswer = false));
  await expect(frame.locator(".notice")).toContainText("has not signed you in", {
    timeout: (TTL_SECS + 15) * 1000,
  });
  await expect(frame.getByTestId("me")).toHaveText("");
  await expect(frame.locator(".embed-wait")).toBeVisible();
  await expect(frame.getByTestId("status")).toHaveText("Live");
  await page.screenshot({ path: "test-results/screenshots/embed-guest.png" });

  // It answers again: the next request signs the frame in, history intact, no duplicate.
  await page.evaluate(() => ((window as unknown as { chorusAnswer: boolean }).chorusAnswer = true));
  await expect(frame.getByTestId("me")).toHaveText("Ann", { timeout: 20_000 });
  await frame.getByRole("textbox", { name: "Message" }).fill("after the outage");
  await frame.getByRole("textbox", { name: "Message" }).press("Enter");
  await expect(frame.locator(".msg .body")).toHaveText(["before the outage", "after the outage"]);
});

test("a site not in --embed-origins cannot frame the room, and the site's own pages frame nowhere", async ({
  request,
}) => {
  const embed = await request.get(`${server.url}/embed/anything`);
  const csp = embed.headers()["content-security-policy"] ?? "";
  expect(csp).toContain(`frame-ancestors ${app.url}`);
  expect(embed.headers()["x-frame-options"]).toBeUndefined();
  const room = await request.get(`${server.url}/r/anything`);
  expect(room.headers()["content-security-policy"]).toContain("frame-ancestors 'none'");
  expect(room.headers()["x-frame-options"]).toBe("DENY");
});

test("without --embed-origins the embed page says embedding is off and cannot be framed", async ({
  page,
}) => {
  const base = process.env.CHORUS_URL ?? "http://127.0.0.1:3000";
  const resp = await page.goto(`${base}/embed/lobby`);
  expect(resp?.headers()["x-frame-options"]).toBe("DENY");
  await expect(page.getByRole("heading", { name: "Embedding is off" })).toBeVisible();
});
