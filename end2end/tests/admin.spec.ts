import { test, expect, type Browser, type Page } from "@playwright/test";
import { OwnServer } from "../support/server";
import { newAccount } from "../support/accounts";
import { live, send } from "../support/room";

// The operator's view on a server of its own (run with --admins): the numbers, a busy
// room's connections, and a disconnect the client recovers from by itself.
test.describe.configure({ mode: "serial" });

const shots = "test-results/screenshots";
let server: OwnServer;

test.beforeAll(async () => {
  server = new OwnServer(["--admins", "Root"]);
  await server.start();
});
test.afterAll(async () => {
  await server?.dispose();
});

/** A signed-up page on this spec's own server. */
const signUp = (browser: Browser, name: string, options = {}) =>
  newAccount(browser, name, { baseURL: server.url, ...options });

test("the operator sees the server, a room's connections, and disconnects one", async ({ browser }) => {
  const room = `ops-${Date.now().toString(36)}`;
  const ann = await signUp(browser, "Ann");
  let sockets = 0;
  ann.on("websocket", () => sockets++);
  await ann.goto(`/r/${room}`);
  await live(ann);
  await send(ann, "hello from Ann");

  // Ann is no operator: there is nothing at /admin for her.
  const other = await ann.context().newPage();
  expect((await other.goto("/admin"))?.status()).toBe(404);
  await expect(other.getByRole("heading", { name: "Not found" })).toBeVisible();
  await other.close();

  const root = await signUp(browser, "root");
  await root.goto("/admin");
  await expect(root.getByRole("heading", { name: "Server" })).toBeVisible();
  const nodes = root.getByRole("table", { name: "Nodes" });
  await expect(nodes.locator("tbody tr")).toHaveCount(1);
  await root.getByRole("link", { name: `#${room}` }).click();
  const conns = root.getByRole("table", { name: "Connections" });
  await expect(conns.locator("tbody tr")).toHaveCount(1);
  await expect(conns).toContainText("Ann");
  await expect(conns).toContainText("127.0.0.1");
  await root.screenshot({ path: `${shots}/admin.png`, fullPage: true });
  await root.emulateMedia({ colorScheme: "dark" });
  await root.screenshot({ path: `${shots}/admin-dark.png`, fullPage: true });
  await root.emulateMedia({ colorScheme: "light" });

  const before = sockets;
  await conns.getByRole("button", { name: "Disconnect Ann" }).click();
  await expect(root.getByRole("status")).toContainText("Disconnected");
  // Her page reconnects by itself (a new socket), and she is still herself.
  await expect.poll(() => sockets, { timeout: 10_000 }).toBeGreaterThan(before);
  await live(ann);
  await send(ann, "back again");
  await expect(ann.locator(".msg", { hasText: "back again" }).locator(".from")).toHaveText("Ann");

  const phone = await (await browser.newContext({
    baseURL: server.url,
    storageState: await root.context().storageState(),
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
  })).newPage();
  await phone.goto(`/admin?room=${room}`);
  await expect(phone.getByRole("table", { name: "Connections" })).toBeVisible();
  await phone.screenshot({ path: `${shots}/admin-phone.png`, fullPage: true });
});
