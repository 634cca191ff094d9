// The client against a real `stevedore serve` (see server.ts).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, createReadStream } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import {
  CopyEventKind,
  createClient,
  DataLossError,
  InvalidArgumentError,
  NotFoundError,
  StevedoreError,
  UnavailableError,
  type GetBlobResponse,
  type StevedoreClient,
} from "../src/index.js";
import { repoRoot, skipWithout, startServer, type Server } from "./server.js";

let srv: Server;
let c: StevedoreClient;

before(async () => {
  srv = await startServer();
  c = createClient(srv.url, { timeoutMs: 30_000 });
});
after(async () => {
  await srv?.stop();
});

const missing = "@sha256:" + "0".repeat(64);

describe("inspect", () => {
  for (const [name, suffix, platform, key, platforms] of [
    ["image", ":v1", "", "manifest", 0],
    ["index", ":multi", "linux/amd64", "index", 2],
    ["index arm64", ":multi", "linux/arm64/v8", "index", 2],
  ] as const) {
    test(name, async () => {
      const info = await c.inspect(srv.ref(suffix), platform);
      assert.equal(info.digest, srv.fixture[key].digest);
      assert.equal(info.manifestDigest, srv.fixture.manifest.digest);
      assert.equal(info.platforms.length, platforms);
      assert.deepEqual(info.layers.map((l) => l.digest), srv.fixture.layers.map((l) => l.digest));
      assert.equal(info.layers[1].size, BigInt(srv.fixture.layers[1].size));
      assert.equal(info.config?.author, "stevedore fixture");
    });
  }
});

test("getManifest", async () => {
  for (const [suffix, key] of [[":v1", "manifest"], [":multi", "index"]] as const) {
    const m = await c.getManifest(srv.ref(suffix));
    assert.equal(m.digest, srv.fixture[key].digest);
    assert.equal(m.mediaType, srv.fixture[key].mediaType);
    assert.equal("sha256:" + createHash("sha256").update(m.raw).digest("hex"), m.digest);
  }
});

test("listTags", async () => {
  assert.deepEqual(await c.listTags(srv.ref("")), srv.fixture.tags);
});

describe("errors", () => {
  const drain = async (it: AsyncIterable<Uint8Array>) => { for await (const _ of it) { /* discard */ } };
  for (const [name, call, cls, code, reason] of [
    ["unknown tag", () => c.inspect(srv.ref(":nope")), NotFoundError, Code.NotFound, "MANIFEST_UNKNOWN"],
    ["unknown manifest", () => c.getManifest(srv.ref(missing)), NotFoundError, Code.NotFound, "MANIFEST_UNKNOWN"],
    ["absent platform", () => c.inspect(srv.ref(":multi"), "windows/amd64"), NotFoundError, Code.NotFound, "MANIFEST_UNKNOWN"],
    ["no layout", () => c.listTags("oci:/nonexistent/layout"), NotFoundError, Code.NotFound, "NAME_UNKNOWN"],
    ["unknown blob", () => drain(c.getBlob(srv.ref(missing))), NotFoundError, Code.NotFound, "BLOB_UNKNOWN"],
    ["bad ref", () => c.inspect("UPPER/Case:x"), InvalidArgumentError, Code.InvalidArgument, "NAME_INVALID"],
    ["blob by tag", () => drain(c.getBlob(srv.ref(":v1"))), InvalidArgumentError, Code.InvalidArgument, "DIGEST_INVALID"],
  ] as const) {
    test(name, async () => {
      await assert.rejects(call(), (e: unknown) => {
        assert.ok(e instanceof cls, `${e} is not a ${cls.name}`);
        assert.ok(e instanceof StevedoreError);
        assert.equal(e.code, code);
        assert.equal(e.reason, reason);
        return true;
      });
    });
  }
  test("unreachable server", async () => {
    await assert.rejects(createClient("http://127.0.0.1:1", { timeoutMs: 2000 }).listTags("oci:/x"), UnavailableError);
  });
});

async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) {
    h.update(chunk as Buffer);
  }
  return "sha256:" + h.digest("hex");
}

test("downloadBlob small", async () => {
  const layer = srv.fixture.layers[0];
  const dest = join(srv.tmp, "small");
  assert.equal(await c.downloadBlob(srv.ref("@" + layer.digest), dest), layer.size);
  assert.equal(readFileSync(dest, "utf8"), "small layer");
});

test("downloadBlob big, memory flat", async () => {
  const layer = srv.fixture.layers[1];
  const dest = join(srv.tmp, "big");
  const before = process.resourceUsage().maxRSS; // KiB
  assert.equal(await c.downloadBlob(srv.ref("@" + layer.digest), dest), layer.size);
  const grown = process.resourceUsage().maxRSS - before;
  assert.equal(statSync(dest).size, layer.size);
  assert.equal(await sha256File(dest), layer.digest);
  assert.ok(!existsSync(dest + ".part"));
  assert.ok(grown < 128 << 10, `peak RSS grew by ${grown} KiB`);
});

/**
 * Cuts the first `cuts` GetBlob streams after `keep` chunks, as a lost
 * connection would, and records the offset each stream starts at (from its
 * first chunk: a server-streaming request is itself a stream here).
 */
function cutter(keep: number, cuts: number, clean: boolean): { interceptor: Interceptor; offsets: bigint[]; calls: () => number } {
  const offsets: bigint[] = [];
  let calls = 0;
  async function* cut(it: AsyncIterable<GetBlobResponse>, cutting: boolean): AsyncIterable<GetBlobResponse> {
    let i = 0;
    for await (const m of it) {
      if (i === 0) {
        offsets.push(m.offset);
      }
      if (cutting && i === keep) {
        if (clean) {
          return;
        }
        throw new ConnectError("injected: connection lost", Code.Unavailable);
      }
      i++;
      yield m;
    }
  }
  const interceptor: Interceptor = (next) => async (req) => {
    if (req.method.name !== "GetBlob") {
      return next(req);
    }
    const res = await next(req);
    if (!res.stream) {
      return res;
    }
    calls++;
    return { ...res, message: cut(res.message as AsyncIterable<GetBlobResponse>, calls <= cuts) } as typeof res;
  };
  return { interceptor, offsets, calls: () => calls };
}

describe("getBlob resumes", () => {
  for (const [name, keep, clean] of [["unavailable", 2, false], ["one chunk", 1, false], ["early end", 3, true]] as const) {
    test(name, async () => {
      const cuts = 4;
      const { interceptor, offsets } = cutter(keep, cuts, clean);
      const rc = createClient(srv.url, { interceptors: [interceptor], firstBackoffMs: 1 });
      const layer = srv.fixture.layers[1];
      const dest = join(srv.tmp, `resume-${keep}`);
      assert.equal(await rc.downloadBlob(srv.ref("@" + layer.digest), dest), layer.size);
      assert.deepEqual(offsets, Array.from({ length: cuts + 1 }, (_, i) => BigInt(i * keep) << 20n));
    });
  }
  test("gives up", async () => {
    const { interceptor, calls } = cutter(0, 1000, false);
    const rc = createClient(srv.url, { interceptors: [interceptor], firstBackoffMs: 1, maxFailures: 3 });
    const dest = join(srv.tmp, "gives-up");
    await assert.rejects(rc.downloadBlob(srv.ref("@" + srv.fixture.layers[1].digest), dest), UnavailableError);
    assert.equal(calls(), 4);
    assert.ok(!existsSync(dest) && !existsSync(dest + ".part"));
  });
});

test("downloadBlob corrupt", async () => {
  const layer = srv.fixture.layers[0];
  const blob = join(srv.fixture.dir, "blobs", "sha256", layer.digest.split(":")[1]);
  const original = readFileSync(blob);
  writeFileSync(blob, "SMALL LAYER");
  try {
    const dest = join(srv.tmp, "corrupt");
    await assert.rejects(c.downloadBlob(srv.ref("@" + layer.digest), dest), (e: unknown) => {
      assert.ok(e instanceof DataLossError);
      assert.equal(e.reason, "DIGEST_INVALID");
      return true;
    });
    assert.ok(!existsSync(dest) && !existsSync(dest + ".part"));
  } finally {
    writeFileSync(blob, original);
  }
});

/** The README's quick start, checked to stay within 10 lines. */
function quickStart(): string {
  const readme = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../../README.md"), "utf8");
  const code = /## Quick start[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(code, "README has a js quick start");
  assert.ok(code.trim().split("\n").length <= 10, "keep the quick start to 10 lines");
  return code;
}

/** Runs the quick start file with node and checks what it printed. */
function runQuickStart(file: string): void {
  const out = execFileSync(process.execPath, [file], {
    env: { ...process.env, STEVEDORE_URL: srv.url, STEVEDORE_REF: srv.ref(":v1") },
    encoding: "utf8",
    timeout: 120_000,
  }).split("\n");
  assert.ok(out[0].startsWith(srv.fixture.manifest.digest), out[0]);
  assert.equal(out[1], `${srv.fixture.layers[1].size} bytes`);
  assert.equal(out[2], "true MANIFEST_UNKNOWN");
}

test("README quick start works as written", () => {
  // Inside the package, so the package name resolves to this build.
  const file = join(dirname(fileURLToPath(import.meta.url)), "quickstart.mjs");
  writeFileSync(file, quickStart());
  runQuickStart(file);
});

// clients/test.sh packs the package (npm pack) and names the tarball.
const tarball = process.env.STEVEDORE_TS_TARBALL ?? "";

test("installed from the npm pack tarball into a fresh directory", { skip: skipWithout(tarball, "npm pack tarball (STEVEDORE_TS_TARBALL)") }, () => {
  assert.ok(existsSync(tarball), `no tarball at ${JSON.stringify(tarball)}`);
  const dir = mkdtempSync(join(tmpdir(), "stevedore-ts-fresh-"));
  try {
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "quickstart", private: true, type: "module" }));
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", tarball], { cwd: dir, stdio: "inherit", timeout: 300_000 });
    writeFileSync(join(dir, "quickstart.mjs"), quickStart());
    runQuickStart(join(dir, "quickstart.mjs"));

    // Types come with the package: strict tsc resolves them (a module
    // without declarations is an implicit any, an error under --strict).
    writeFileSync(join(dir, "check.ts"), [
      'import { createClient, NotFoundError, type InspectResponse, type StevedoreClient } from "@stevedore-dev/client";',
      'const c: StevedoreClient = createClient("http://127.0.0.1:9090");',
      "const digest: Promise<string> = c.inspect(\"127.0.0.1:5000/app:v1\").then((i: InspectResponse) => i.digest);",
      "export const checks = [digest, NotFoundError];",
      "",
    ].join("\n"));
    const tsc = join(repoRoot, "clients", "ts", "node_modules", ".bin", "tsc");
    execFileSync(tsc, ["--noEmit", "--strict", "--skipLibCheck", "--target", "es2022", "--module", "nodenext", "--moduleResolution", "nodenext", "check.ts"],
      { cwd: dir, stdio: "inherit", timeout: 120_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe("copy", () => {
  for (const [name, suffix, dest, platform, key] of [
    ["image to layout", ":v1", "layout", "", "manifest"],
    ["index to registry", ":multi", "registry", "", "index"],
    ["platform to registry", ":multi", "registry", "linux/arm64/v8", "manifest"],
  ] as const) {
    test(name, async () => {
      const dst = dest === "layout"
        ? `oci:${join(srv.tmp, "copied-" + name.replace(/ /g, "-"))}:copied`
        : `${srv.registry}/clients/ts:${platform ? platform.replace(/\//g, "-") : "all"}`;
      const kinds: CopyEventKind[] = [];
      let digest = "";
      for await (const ev of c.copy(srv.ref(suffix), dst, { platform })) {
        kinds.push(ev.kind);
        if (ev.kind === CopyEventKind.RESULT) {
          digest = ev.result?.digest ?? "";
        }
      }
      assert.ok(kinds.length >= 2, `${kinds.length} events`);
      assert.equal(kinds.at(-1), CopyEventKind.RESULT);
      assert.ok(kinds.includes(CopyEventKind.IMAGE_DONE) || kinds.includes(CopyEventKind.IMAGE_SKIPPED));
      assert.equal(digest, srv.fixture[key].digest);
      assert.equal((await c.inspect(dst, platform)).digest, srv.fixture[key].digest);
    });
  }

  test("unknown source is NotFoundError", async () => {
    const it = c.copy(srv.ref(":nope"), `oci:${join(srv.tmp, "never")}:x`);
    await assert.rejects(async () => {
      for await (const _ of it) {
        // no events expected
      }
    }, (e: unknown) => e instanceof NotFoundError && e.code === Code.NotFound);
  });
});
