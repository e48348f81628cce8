// Waits for the server: `cargo leptos end-to-end` starts it and Playwright at the same time.
export default async function globalSetup() {
  const url = process.env.CHORUS_URL ?? "http://127.0.0.1:3000";
  const deadline = Date.now() + 60_000;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`server at ${url} did not come up in 60 s: ${last}`);
}
