import { test, expect, type Page } from "@playwright/test";
import { enter, person, uniqueRoom } from "../support/room";

// A big room's member list (issue 19): the bar shows the first names and "and N more";
// the search pages through the whole list (the `members` frame) and finds anyone.
const shots = "test-results/screenshots";

/** `n` people join `room` from sockets of the page's own; resolves once all are in. */
async function crowd(page: Page, room: string, n: number) {
  await page.evaluate(
    async ({ room, n }) => {
      const w = window as any;
      w.crowd = [];
      await Promise.all(
        Array.from({ length: n }, (_, i) => new Promise<void>((resolve) => {
          const ws = new WebSocket(`ws://${location.host}/ws`);
          ws.onopen = () => ws.send(JSON.stringify({ type: "join", room, name: `fan ${String(i).padStart(3, "0")}` }));
          ws.onmessage = (ev) => { if (JSON.parse(ev.data).type === "joined") resolve(); };
          w.crowd.push(ws);
        })),
      );
    },
    { room, n },
  );
}

test("a room of 130: the first names, and N more, and a search over everyone", async ({ browser }) => {
  const room = uniqueRoom("stadium");
  const host = await person(browser, "Host");
  const h = await enter(host, `/r/${uniqueRoom("lobbyish")}`);
  await crowd(h, room, 130);

  const ann = await person(browser, "Ann");
  const a = await enter(ann, `/r/${room}`);
  const people = a.getByRole("list", { name: "People here" });
  await expect(people.locator(".member")).toHaveCount(10);
  const more = people.getByRole("button", { name: "and 121 more" });
  await expect(more).toBeVisible();
  await more.click();
  const search = a.getByRole("searchbox", { name: "Find someone in this room" });
  await expect(search).toBeFocused();
  await expect(a.locator(".member-search-status")).toHaveText("50 of 131 shown; type more of the name");
  await search.fill("fan 12");
  const results = a.locator(".member-results .member");
  await expect(results).toHaveCount(10);
  await expect(a.locator(".member-search-status")).toHaveText("10 found");
  await search.fill("fan 129");
  await expect(results).toHaveText(["fan 129"]);
  await a.screenshot({ path: `${shots}/members-search.png` });
  await search.fill("nobody");
  await expect(a.locator(".member-search-status")).toHaveText("Nobody by that name here.");
  await search.press("Escape");
  await expect(search).toHaveCount(0);
  await expect(more).toHaveAttribute("aria-expanded", "false");

  // Dark, on a phone: the count opens the list, "and N more" the search.
  const phone = await person(browser, "Cy", { colorScheme: "dark", viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
  const p = await enter(phone, `/r/${room}`);
  await p.getByRole("button", { name: /online/ }).tap();
  await p.getByRole("button", { name: "and 122 more" }).tap();
  await p.getByRole("searchbox", { name: "Find someone in this room" }).fill("fan 00");
  await expect(p.locator(".member-results .member")).toHaveCount(10);
  await p.screenshot({ path: `${shots}/members-search-phone-dark.png` });
  await host.close();
  await ann.close();
  await phone.close();
});
