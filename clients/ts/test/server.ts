// Test harness: builds `stevedore` and the fixture writer from this checkout
// with `go build`, writes the fixture OCI layout (a big layer of
// STEVEDORE_FIXTURE_SIZE bytes, 256 MiB by default) and starts a real
// `stevedore serve` on free loopback ports. STEVEDORE_BIN and
// STEVEDORE_MKFIXTURE skip the builds.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient, UnavailableError } from "../src/index.js";

/** The repository root: this file runs from clients/ts/dist/test/. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");

/** mkfixture's JSON description of the layout. */
export interface Fixture {
  dir: string;
  manifest: Descriptor;
  index: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  tags: string[];
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/** A running `stevedore serve`. */
export interface Server {
  url: string; // gRPC base URL, http://HOST:PORT
  grpc: string;
  /** host:port of the REST gateway. */
  http: string;
  /** host:port of the server's OCI registry port. */
  registry: string;
  fixture: Fixture;
  tmp: string;
  /** The oci: reference of ":TAG" or "@DIGEST" in the fixture layout. */
  ref(suffix: string): string;
  stop(): Promise<void>;
}

async function freeAddr(): Promise<string> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (typeof a === "object" && a ? res(`127.0.0.1:${a.port}`) : rej(new Error("no address"))));
    });
  });
}

function goBuild(pkg: string, out: string): string {
  execFileSync("go", ["build", "-o", out, pkg], { cwd: repoRoot, stdio: "inherit" });
  return out;
}

/** Starts the server and waits until it answers. */
export async function startServer(): Promise<Server> {
  const tmp = mkdtempSync(join(tmpdir(), "stevedore-ts-"));
  const bin = process.env.STEVEDORE_BIN || goBuild("./cmd/stevedore", join(tmp, "stevedore"));
  const mk = process.env.STEVEDORE_MKFIXTURE || goBuild("./clients/go/internal/mkfixture", join(tmp, "mkfixture"));
  const size = process.env.STEVEDORE_FIXTURE_SIZE || String(256 << 20);
  const fixture = JSON.parse(execFileSync(mk, ["-size", size, join(tmp, "layout")], { encoding: "utf8" })) as Fixture;

  const [grpc, http, registry] = [await freeAddr(), await freeAddr(), await freeAddr()];
  const log = join(tmp, "serve.log");
  const fd = openSync(log, "w");
  const proc: ChildProcess = spawn(
    bin,
    ["serve", "--grpc-addr", grpc, "--http-addr", http, "--registry-addr", registry, "--data", join(tmp, "data")],
    { stdio: ["ignore", fd, fd] },
  );
  let exited = false;
  const done = new Promise<void>((res) => proc.once("exit", () => { exited = true; res(); }));
  const srv: Server = {
    url: `http://${grpc}`,
    grpc,
    http,
    registry,
    fixture,
    tmp,
    ref: (suffix) => "oci:" + fixture.dir + suffix,
    stop: async () => {
      if (!exited) {
        proc.kill("SIGTERM");
      }
      await done;
      rmSync(tmp, { recursive: true, force: true });
    },
  };
  const c = createClient(srv.url, { timeoutMs: 1000 });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) {
      throw new Error(`stevedore serve exited: ${readFileSync(log, "utf8")}`);
    }
    try {
      await c.listTags(srv.ref(""));
      return srv;
    } catch (e) {
      if (!(e instanceof UnavailableError) || Date.now() > deadline) {
        await srv.stop();
        throw e;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
