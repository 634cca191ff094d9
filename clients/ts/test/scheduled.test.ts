// Sync jobs and retention of a server started with a config file: its sync
// job mirrors an image from another stevedore's registry port.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createClient, NotFoundError, type StevedoreClient } from "../src/index.js";
import { startServer, type Server } from "./server.js";

let upstream: Server;
let srv: Server;
let c: StevedoreClient;

before(async () => {
  upstream = await startServer({ fixtureSize: 1024 });
  execFileSync(upstream.bin, ["copy", upstream.ref(":files"), `${upstream.registry}/ts-up/files:v1`]);
  const cfg = join(mkdtempSync(join(tmpdir(), "stevedore-ts-cfg-")), "stevedore.yaml");
  writeFileSync(cfg, `
sync:
  - name: files
    destination: {prefix: mirror}
    sources: [{repository: ${upstream.registry}/ts-up/files}]
retention:
  policies:
    - repositories: "**"
      keepLast: 1
`);
  srv = await startServer({ fixtureSize: 1024, args: ["--config", cfg] });
  c = createClient(srv.url, { timeoutMs: 30_000 });
});
after(async () => {
  await srv?.stop();
  await upstream?.stop();
});

test("sync jobs and retention", async () => {
  const jobs = await c.listSyncJobs();
  assert.deepEqual(jobs.map((j) => j.name), ["files"]);
  assert.equal(jobs[0].schedule, "on demand");
  assert.deepEqual(jobs[0].destinations, ["mirror/ts-up/files"]);

  const actions: string[] = [];
  let copied = -1;
  for await (const msg of c.runSyncNow("files")) {
    if (msg.image) actions.push(msg.image.action);
    if (msg.summary) copied = msg.summary.copied;
  }
  assert.deepEqual(actions, ["copied"]);
  assert.equal(copied, 1);

  const st = await c.syncStatus("files");
  assert.equal(st.job?.runs, 1);
  assert.equal(st.job?.lastRun?.trigger, "api");
  assert.deepEqual(st.images.map((im) => im.action), ["copied"]);
  await assert.rejects(c.syncStatus("nope"), NotFoundError);

  const dry = await c.runRetention({ dryRun: true });
  assert.equal(dry.dryRun, true);
  assert.equal(dry.tagsKept, 1);
  assert.equal(dry.removed.length, 0);
  const run = await c.runRetention();
  assert.equal(run.dryRun, false);
  assert.ok(run.gc);
});
