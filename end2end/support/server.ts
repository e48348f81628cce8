// A Chorus server of a test's own, which the test may kill and restart: the shared server
// (CHORUS_URL) must stay up for the other tests. Runs the binary scripts/e2e names in
// CHORUS_BIN (the release build) from the project root, on a fresh data directory that
// survives restarts, on the same port each time, so open pages reconnect to it.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const root = path.resolve(__dirname, "..", "..");
const bin = process.env.CHORUS_BIN ?? path.join(root, "target", "release", "chorus");

export class OwnServer {
  url = "";
  private child?: ChildProcess;
  private readonly dataDir = mkdtempSync(path.join(tmpdir(), "chorus-e2e-"));

  /** `args`: more flags for the server (e.g. a token secret). */
  constructor(private readonly args: string[] = []) {}

  /** Starts on a free port (first time) or the port it had (restarts). */
  async start(): Promise<string> {
    const addr = this.url ? this.url.replace("http://", "") : "127.0.0.1:0";
    const child = spawn(bin, ["--addr", addr, "--data-dir", this.dataDir, ...this.args], {
      cwd: root,
      env: { ...process.env, RUST_LOG: "warn" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    this.child = child;
    this.url = await new Promise<string>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 30_000);
      child.stdout!.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const m = out.match(/Chorus is running: open (http:\/\/\S+)/);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited (${code}) before serving: ${out}`));
      });
    });
    return this.url;
  }

  /** Ends the process with `signal` (SIGKILL: a crash) and waits until it is gone. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once("exit", r));
    child.kill(signal);
    await gone;
  }

  /** Stops (by default with kill -9) and starts again on the same port and data. */
  async restart(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    await this.stop(signal);
    await this.start();
  }

  /** Stops the server and deletes its data. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** The publish budgets lifted: a test can fill a room with hundreds of messages at once. */
export const UNLIMITED_PUBLISHING = [
  "--rate-per-sec", "5000", "--rate-burst", "5000",
  "--rate-per-ip-per-sec", "20000", "--rate-per-ip-burst", "20000",
];
