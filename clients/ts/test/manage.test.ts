// Management of the served store: list, measure, delete, collect. Against a
// real `stevedore serve`, and against a second one with auth for the rights.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Interceptor } from "@connectrpc/connect";
import {
  CopyEventKind,
  createClient,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  UnauthenticatedError,
  type StevedoreClient,
} from "../src/index.js";
import { startServer, type Server } from "./server.js";

const prefix = "ts-mgmt/";

let srv: Server;
let c: StevedoreClient;

before(async () => {
  srv = await startServer({ fixtureSize: 1024 });
  c = createClient(srv.url, { timeoutMs: 30_000 });
});
after(async () => {
  await srv?.stop();
});

/** Collects an async iterator into an array. */
async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const names = async (options: { prefix?: string; pageSize?: number }) => (await all(c.listRepositories(options))).map((r) => r.name);

test("list, measure, delete, collect", async () => {
  const [a, b, cc] = ["a", "b", "c"].map((n) => prefix + n);
  for (const name of [a, b]) {
    const events = await all(c.copy(srv.ref(":files"), `store:${name}:v1`));
    assert.equal(events.at(-1)?.kind, CopyEventKind.RESULT);
  }
  // c holds content no other repository does, so a collection can free it.
  const notes = join(srv.tmp, "notes.bin");
  writeFileSync(notes, randomBytes(4096));
  await c.pushArtifact(`store:${cc}:v1`, [notes], { artifactType: "application/x-notes" });

  const repos = await all(c.listRepositories({ prefix, pageSize: 1 })); // a page per repository
  assert.deepEqual(repos.map((r) => r.name), [a, b, cc]);
  assert.ok(repos.every((r) => r.tagCount === 1 && r.storedBytes > 0n));
  assert.deepEqual(await names({ prefix, pageSize: 2 }), [a, b, cc]);
  const first = await c.raw.listRepositories({ prefix, pageSize: 2 });
  assert.equal(first.repositories.length, 2);
  assert.notEqual(first.nextPageToken, "", "the iterator did follow a token");
  assert.deepEqual(await names({ prefix: prefix + "b" }), [b]);

  const u = await c.storageUsage(prefix);
  const per = new Map(u.repositories.map((r) => [r.name, r]));
  assert.deepEqual([...per.keys()], [a, b, cc]);
  const [ua, ub, uc] = [per.get(a)!, per.get(b)!, per.get(cc)!];
  assert.ok(ua.bytes > 0n);
  assert.equal(ub.bytes, ua.bytes); // one image, twice
  assert.equal(ua.sharedBytes, ua.bytes);
  assert.ok(uc.bytes >= 4096n);
  assert.equal(uc.sharedBytes, 0n);
  assert.equal(u.totalBytes, ua.bytes + uc.bytes);
  assert.equal(u.sharedBytes, ua.bytes);

  const gone = await c.deleteRepository(cc);
  assert.equal(gone.tagsDeleted, 1);
  assert.equal(gone.manifestsDeleted, 1);
  assert.deepEqual(await names({ prefix, pageSize: 1 }), [a, b]);
  await assert.rejects(c.deleteRepository(cc), NotFoundError);

  // c's blobs are free once older than the grace period (here 1 s).
  const deadline = Date.now() + 10_000;
  let dry = await c.runGC({ dryRun: true, graceSeconds: 1 });
  while (dry.freedBytes < 4096n) {
    assert.ok(Date.now() < deadline, `freed ${dry.freedBytes} bytes`);
    await new Promise((r) => setTimeout(r, 100));
    dry = await c.runGC({ dryRun: true, graceSeconds: 1 });
  }
  assert.equal(dry.dryRun, true);
  assert.equal(dry.repositories, 2);
  const gc = await c.runGC(); // the server's grace (an hour) keeps them
  assert.equal(gc.dryRun, false);
  assert.ok(gc.young > 0);
  assert.equal(gc.freedBytes, 0n);
});

describe("errors", () => {
  for (const [name, call, cls, reason] of [
    ["unknown repository", () => c.deleteRepository(prefix + "never"), NotFoundError, "NAME_UNKNOWN"],
    ["bad name", () => c.deleteRepository("UPPER/case"), InvalidArgumentError, undefined],
    ["page size", () => all(c.listRepositories({ pageSize: 1001 })), InvalidArgumentError, undefined],
    ["negative grace", () => c.runGC({ graceSeconds: -1 }), InvalidArgumentError, undefined],
  ] as const) {
    test(name, async () => {
      await assert.rejects(call(), (e: unknown) => {
        assert.ok(e instanceof cls, String(e));
        assert.equal(e.reason, reason);
        return true;
      });
    });
  }
});

describe("rights", () => {
  // owner may do everything, reader only pull, by static API tokens. The
  // htpasswd user is there because auth needs one; its password is unused.
  const tokens = { owner: "ts-owner-token-0123456789", reader: "ts-reader-token-0123456789" };
  let authSrv: Server;
  const as = (user: keyof typeof tokens) => {
    const bearer: Interceptor = (next) => (req) => {
      req.header.set("authorization", `Bearer ${tokens[user]}`);
      return next(req);
    };
    return createClient(authSrv.url, { timeoutMs: 30_000, interceptors: [bearer] });
  };

  before(async () => {
    const files = join(srv.tmp, "auth");
    const write = (name: string, text: string) => {
      writeFileSync(`${files}-${name}`, text);
      return `${files}-${name}`;
    };
    authSrv = await startServer({
      fixtureSize: 1024,
      args: [
        "--htpasswd", write("htpasswd", "owner:$2a$04$zRZNbnd9apZ9Rgpdr8xmneG7WhowC2b1fTewfURDNLpWWXBWYz5Wu\n"),
        "--auth-rules", write("rules.yaml", `rules:
  - {repository: "**", users: [owner], actions: ["*"]}
  - {repository: "**", users: [reader], actions: [pull]}
`),
        "--api-tokens", write("tokens", Object.entries(tokens).map(([u, t]) => `${t} ${u}\n`).join("")),
      ],
    });
  });
  after(async () => {
    await authSrv?.stop();
  });

  test("a reader may list and measure, not delete or collect", async () => {
    const [owner, reader, anonymous] = [as("owner"), as("reader"), createClient(authSrv.url, { timeoutMs: 30_000 })];
    const notes = join(srv.tmp, "notes.txt");
    writeFileSync(notes, "hello");
    await owner.pushArtifact("store:team/app:v1", [notes]);
    assert.deepEqual((await all(reader.listRepositories())).map((r) => r.name), ["team/app"]);
    assert.ok((await reader.storageUsage()).totalBytes > 0n);
    await assert.rejects(reader.deleteRepository("team/app"), PermissionDeniedError);
    await assert.rejects(reader.runGC({ dryRun: true }), PermissionDeniedError);
    await assert.rejects(all(anonymous.listRepositories()), UnauthenticatedError);
    assert.equal((await owner.deleteRepository("team/app")).tagsDeleted, 1);
    assert.equal((await owner.runGC({ dryRun: true })).repositories, 0);
  });
});
