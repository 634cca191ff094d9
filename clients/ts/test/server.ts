// Test harness: builds `stevedore` and the fixture writer from this checkout
// with `go build`, writes the fixture OCI layout (a big layer of
// STEVEDORE_FIXTURE_SIZE bytes, 256 MiB by default) and starts a real
// `stevedore serve` on free loopback ports. STEVEDORE_BIN and
// STEVEDORE_MKFIXTURE skip the builds.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server as NetServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient, StevedoreError, UnavailableError } from "../src/index.js";

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
  filesImage: Descriptor;
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
  /** The stevedore binary the server runs. */
  bin: string;
  /** The oci: reference of ":TAG" or "@DIGEST" in the fixture layout. */
  ref(suffix: string): string;
  stop(): Promise<void>;
}

/**
 * n distinct 127.0.0.1 addresses no one listens on right now. Every listener
 * stays open until all n are chosen, so the kernel cannot hand the same port
 * out twice (one serve's three ports once collided).
 */
async function freeAddrs(n: number): Promise<string[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<NetServer>((res, rej) => {
          const s = createServer();
          s.once("error", rej);
          s.listen(0, "127.0.0.1", () => res(s));
        }),
    ),
  );
  const addrs = servers.map((s) => {
    const a = s.address();
    if (typeof a !== "object" || !a) throw new Error("no address");
    return `127.0.0.1:${a.port}`;
  });
  await Promise.all(servers.map((s) => new Promise((res) => s.close(res))));
  return addrs;
}

async function freeAddr(): Promise<string> {
  return (await freeAddrs(1))[0];
}

function goBuild(pkg: string, out: string): string {
  execFileSync("go", ["build", "-o", out, pkg], { cwd: repoRoot, stdio: "inherit" });
  return out;
}

/** Starts the server and waits until it answers. */
export async function startServer(options: { fixtureSize?: number; args?: string[] } = {}): Promise<Server> {
  const tmp = mkdtempSync(join(tmpdir(), "stevedore-ts-"));
  const bin = process.env.STEVEDORE_BIN || goBuild("./cmd/stevedore", join(tmp, "stevedore"));
  const mk = process.env.STEVEDORE_MKFIXTURE || goBuild("./clients/go/internal/mkfixture", join(tmp, "mkfixture"));
  const size = String(options.fixtureSize ?? (process.env.STEVEDORE_FIXTURE_SIZE || 256 << 20));
  const fixture = JSON.parse(execFileSync(mk, ["-size", size, join(tmp, "layout")], { encoding: "utf8" })) as Fixture;

  const [grpc, http, registry] = await freeAddrs(3);
  const log = join(tmp, "serve.log");
  const fd = openSync(log, "w");
  const proc: ChildProcess = spawn(
    bin,
    // The fixture layout and registries are on this machine, which a
    // default serve keeps the API away from.
    ["serve", "--grpc-addr", grpc, "--http-addr", http, "--registry-addr", registry, "--data", join(tmp, "data"),
      "--allow-local", "any", "--allow-remote", "127.0.0.1:*", ...(options.args ?? [])],
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
    bin,
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
    // Any answer but Unavailable means it is serving (a server with auth
    // answers Unauthenticated).
    try {
      await c.listTags(srv.ref(""));
      return srv;
    } catch (e) {
      if (e instanceof StevedoreError && !(e instanceof UnavailableError)) {
        return srv;
      }
      if (!(e instanceof UnavailableError) || Date.now() > deadline) {
        await srv.stop();
        throw e;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** The CNCF distribution registry, from scripts/install-tools.sh's output (clients/test.sh sets it). */
export const registryBin = process.env.STEVEDORE_REGISTRY_BIN ?? "";

/**
 * Why a test needing the tool at path should skip, or false when it should
 * run: when the tool is there, and under STEVEDORE_REQUIRE_PEERS=1 (make
 * test), where the test then fails on the missing tool instead of skipping.
 */
export function skipWithout(path: string, what: string): string | false {
  if ((path !== "" && existsSync(path)) || process.env.STEVEDORE_REQUIRE_PEERS === "1") {
    return false;
  }
  return `no ${what} at ${JSON.stringify(path)}`;
}

/**
 * Starts a distribution registry on a loopback port, as integration/ does,
 * and pushes the fixture's files image into it as fixture/files:v1 with
 * `stevedore copy`. Returns its host:port and a stop function.
 */
export async function startDistribution(srv: Server): Promise<{ host: string; stop: () => Promise<void> }> {
  if (registryBin === "" || !existsSync(registryBin)) {
    throw new Error(`no distribution registry at STEVEDORE_REGISTRY_BIN=${JSON.stringify(registryBin)}`);
  }
  const host = await freeAddr();
  const cfg = join(srv.tmp, "registry.yml");
  writeFileSync(cfg, `version: 0.1\nlog: {level: warn, accesslog: {disabled: true}}\n` +
    `storage: {filesystem: {rootdirectory: ${JSON.stringify(join(srv.tmp, "registry"))}}}\nhttp: {addr: ${JSON.stringify(host)}}\n`);
  const env = { ...process.env, OTEL_TRACES_EXPORTER: "none", OTEL_METRICS_EXPORTER: "none", OTEL_LOGS_EXPORTER: "none" };
  const proc = spawn(registryBin, ["serve", cfg], { env, stdio: "ignore" });
  const done = new Promise<void>((res) => proc.once("exit", () => res()));
  const stop = async () => { proc.kill("SIGTERM"); await done; };
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`http://${host}/v2/`)).ok) {
        break;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error("distribution registry did not start");
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  execFileSync(srv.bin, ["copy", srv.ref(":files"), `${host}/fixture/files:v1`], { stdio: "ignore" });
  return { host, stop };
}
