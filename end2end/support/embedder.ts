// An application that embeds a Chorus room: a page on another origin (http://localhost:PORT,
// while Chorus is at 127.0.0.1) with an <iframe> of /embed/{room}, which answers the
// frame's token requests with HS256 tokens its backend mints, as docs/identity.md says an
// application does. It counts the requests and can stop answering, for tests.
import { createHmac } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

export const SECRET = "embedder-test-secret-0123456789abcdef-0123456789";

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString("base64url");
}

/** A token for `sub` / `name`, valid for `ttlSecs` from now. */
export function mint(sub: string, name: string, ttlSecs: number): string {
  const iat = Math.floor(Date.now() / 1000);
  const header = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const claims = b64url(JSON.stringify({ sub, name, iat, exp: iat + ttlSecs }));
  const sig = createHmac("sha256", SECRET).update(`${header}.${claims}`).digest();
  return `${header}.${claims}.${b64url(sig)}`;
}

export class Embedder {
  url = "";
  private server?: http.Server;

  /** `chorus`: the Chorus server's URL; tokens are for `sub`/`name`, `ttlSecs` long. */
  constructor(
    private readonly sub: string,
    private readonly name: string,
    private readonly ttlSecs: number,
  ) {}

  /** Listens on a free port of localhost; returns its origin. */
  async listen(): Promise<string> {
    this.server = http.createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://localhost");
      if (url.pathname === "/token") {
        res.writeHead(200, { "content-type": "text/plain", "cache-control": "no-store" });
        res.end(mint(this.sub, this.name, this.ttlSecs));
        return;
      }
      const chorus = url.searchParams.get("chorus");
      if (url.pathname !== "/" || !chorus) {
        res.writeHead(404).end();
        return;
      }
      const frame = `${chorus}/embed/${url.searchParams.get("room")}`;
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(page(frame));
    });
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://localhost:${port}`;
    return this.url;
  }

  /** The page that frames `room` of the Chorus server at `chorus`. */
  pageFor(chorus: string, room: string): string {
    return `${this.url}/?chorus=${encodeURIComponent(chorus)}&room=${encodeURIComponent(room)}`;
  }

  async close(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
  }
}

// The application's page: frames the room and hands it tokens from its own backend.
// `window.chorusRequests` counts the frame's requests; `window.chorusAnswer = false`
// makes the page stop answering.
function page(frame: string): string {
  const origin = new URL(frame).origin;
  return `<!doctype html>
<html><head><title>An app</title>
<style>body{margin:0;font:14px system-ui} h1{font-size:16px;margin:8px 12px} iframe{border:0;width:100%;height:calc(100vh - 40px)}</style>
</head><body>
<h1>An application with a Chorus room</h1>
<iframe id="chat" src="${frame}" title="Chat"></iframe>
<script>
  window.chorusRequests = 0;
  window.chorusAnswer = true;
  const chat = document.getElementById("chat");
  window.addEventListener("message", async (ev) => {
    if (ev.source !== chat.contentWindow || ev.origin !== ${JSON.stringify(origin)}) return;
    if (!ev.data || ev.data.type !== "chorus:token-request") return;
    window.chorusRequests += 1;
    if (!window.chorusAnswer) return;
    const token = await (await fetch("/token")).text();
    chat.contentWindow.postMessage({ type: "chorus:token", request: ev.data.request, token }, ${JSON.stringify(origin)});
  });
</script>
</body></html>`;
}
