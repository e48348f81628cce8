// Accounts as the browser tests make them: through the real sign-up form.
import { expect, type Browser, type Page } from "@playwright/test";

/** The password every test account gets unless a test picks its own. */
export const passwordOf = (name: string) => `${name}'s long password`;

/** Fills and submits the sign-up form on `page`; the server then sends it to `next`. */
export async function signUp(page: Page, name: string, { password = passwordOf(name), next = "/" } = {}) {
  await page.goto(`/signup?next=${encodeURIComponent(next)}`);
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
}

/** A page in a new browser context (`options`: viewport, baseURL…) signed up as `name`, hydrated. */
export async function newAccount(browser: Browser, name: string, options = {}): Promise<Page> {
  const page = await (await browser.newContext(options)).newPage();
  await signUp(page, name);
  await expect(page.locator("body[data-hydrated]")).toBeAttached();
  return page;
}
