import { test, expect } from "@playwright/test";
import { live, send } from "../support/room";
import { OwnServer } from "../support/server";

// This file's tests kill their own server; they must not share it.
test.describe.configure({ mode: "serial" });

let server: OwnServer;
test.beforeAll(async () => {
  server = new OwnServer();
  await server.start();
});
test.afterAll(async () => {
  await server?.dispose();
});

test("history survives a server crash and restart: shown once, in order, also without JavaScript", async ({
  browser,
}) => {
  const room = `durable-${Date.now().toString(36)}`;
  const context = await browser.newContext();
  await context.addInitScript(() => localStorage.setItem("chorus.name", "Dora"));
  const page = await context.newPage();
  await page.goto(`${server.url}/r/${room}`);
  await expect(page.locator("body[data-hydrated]")).toBeAttached();
  await live(page);

  const before = ["first <i>one</i>", "second", "third"];
  for (const text of before) await send(page, text);

  // kill -9 and start again on the same data directory: the open page reconnects.
  await server.restart("SIGKILL");
  await live(page);
  await send(page, "after the crash");
  const all = [...before, "after the crash"];
  await expect(page.locator(".msg .body")).toHaveText(all);

  // A reload renders the stored history on the server and goes live without duplicates.
  await page.reload();
  await expect(page.locator("body[data-hydrated]")).toBeAttached();
  await live(page);
  await expect(page.locator(".msg .body")).toHaveText(all);
  await expect(page.locator(".msg")).toHaveCount(4);
  const seqs = await page.locator(".msg").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-seq")));
  expect(seqs).toEqual(["1", "2", "3", "4"]);
  // A message from elsewhere still arrives once, after the server-rendered ones.
  const other = await browser.newContext();
  await other.addInitScript(() => localStorage.setItem("chorus.name", "Eli"));
  const second = await other.newPage();
  await second.goto(`${server.url}/r/${room}`);
  await live(second);
  await send(second, "from Eli");
  await expect(page.locator(".msg .body")).toHaveText([...all, "from Eli"]);
  await page.screenshot({ path: "test-results/screenshots/room-after-restart.png" });

  // With JavaScript off the page is server-rendered and readable all the same.
  const noJs = await browser.newContext({ javaScriptEnabled: false });
  const plain = await noJs.newPage();
  await plain.goto(`${server.url}/r/${room}`);
  await expect(plain.locator(".msg .body")).toHaveText([...all, "from Eli"]);
  await expect(plain.locator(".msg .body i")).toHaveCount(0);
  await expect(plain.getByText("JavaScript is off")).toBeVisible();
  await expect(plain.getByTestId("status")).toBeHidden();
  await expect(page.getByText("JavaScript is off")).toBeHidden();
  await plain.screenshot({ path: "test-results/screenshots/room-no-js.png" });

  await noJs.close();
  await other.close();
  await context.close();
});
