// Sign/verify, analyze, mutate, artifacts and a distribution registry,
// against a real `stevedore serve` (see server.ts) with a small fixture.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { AlreadyExistsError, createClient, InvalidArgumentError, NotFoundError, type StevedoreClient } from "../src/index.js";
import { registryBin, skipWithout, startDistribution, startServer, type Server } from "./server.js";

let srv: Server;
let c: StevedoreClient;
let n = 0;

before(async () => {
  srv = await startServer({ fixtureSize: 1024 });
  c = createClient(srv.url, { timeoutMs: 30_000 });
});
after(async () => {
  await srv?.stop();
});

/** The files image copied into a layout of the test's own, so writes leave the fixture alone. */
async function scratch(): Promise<string> {
  const ref = `oci:${join(srv.tmp, `scratch${n++}`)}:v1`;
  for await (const _ of c.copy(srv.ref(":files"), ref));
  return ref;
}

test("sign and verify", async () => {
  const ref = await scratch();
  const good = await c.generateKeyPair("ts-good", "pw");
  const other = await c.generateKeyPair("ts-other", "pw");
  await assert.rejects(c.generateKeyPair("ts-good", "pw"), AlreadyExistsError);
  const signed = await c.sign({ ref, keyId: "ts-good", password: "pw" });
  assert.equal(signed.signatures[0].subject?.digest, srv.fixture.filesImage.digest);
  assert.equal((await c.verify({ ref, keyIds: ["ts-good"] })).verified, true);
  assert.equal((await c.verify({ ref, publicKeys: [good.publicKeyPem] })).verified, true);
  const wrong = await c.verify({ ref, publicKeys: [other.publicKeyPem] });
  assert.equal(wrong.verified, false);
  assert.ok(wrong.findings.length > 0 && wrong.findings[0].reason);
  // Certificate identities reach the server: a key signature is not a
  // certificate signature, and an identity without an issuer is refused.
  const ident = { subject: "dev@example.com", issuer: "https://accounts.google.com" };
  const keyless = await c.verify({ ref, certificateIdentities: [ident] });
  assert.equal(keyless.verified, false);
  assert.match(keyless.findings[0].reason, /certificate/);
  await assert.rejects(c.verify({ ref, certificateIdentities: [{ subject: "dev@example.com" }] }), InvalidArgumentError);
  await assert.rejects(
    c.verifyAttestation({ ref, predicateType: "https://example.com/test/v1", certificateIdentities: [ident], certificateTrust: { trustedRoot: "{" } }),
    InvalidArgumentError,
  );
  await c.attest({ ref, keyId: "ts-good", password: "pw", predicateType: "https://example.com/test/v1", predicate: '{"ok":true}' });
  assert.equal((await c.verifyAttestation({ ref, keyIds: ["ts-good"], predicateType: "https://example.com/test/v1" })).verified, true);
  const tree = await c.tree(ref);
  assert.equal(tree.signatures.length, 1);
  assert.equal(tree.attestations.length, 1);
});

test("analyze", async () => {
  const ref = srv.ref(":files");
  const files: string[] = [];
  for await (const f of c.listFiles(ref)) {
    if (f.size > 0n) files.push(f.path.replace(/^\//, ""));
  }
  assert.deepEqual(files, ["bin/app", "etc/hello.txt"]);
  await assert.rejects(async () => { for await (const _ of c.listFiles(srv.ref(":missing"))); }, NotFoundError);
  const out = join(srv.tmp, "hello.txt");
  assert.equal(await c.readFile(ref, "/etc/hello.txt", out), 21);
  assert.equal(readFileSync(out, "utf8"), "hello from stevedore\n");
  const tar = join(srv.tmp, "rootfs.tar");
  assert.equal(await c.export(ref, tar), statSync(tar).size);
  assert.ok(readFileSync(tar).includes("etc/hello.txt"));
  assert.equal((await c.validate(ref)).valid, true);
  assert.equal((await c.size(ref)).layers.length, 1);
  assert.deepEqual((await c.history(ref)).map((h) => h.createdBy), ["fixture: add files"]);
});

test("mutate, diff, tag, untag", async () => {
  const src = await scratch();
  const base = src.slice(0, src.lastIndexOf(":"));
  const want = srv.fixture.filesImage.digest;
  const res = await c.mutate({ ref: src, destination: base + ":mutated", labels: { "org.example.mutated": "yes" } });
  assert.notEqual(res?.digest, want);
  assert.equal(res?.sourceDigest, want);
  assert.equal((await c.inspect(src)).digest, want, "the source is unchanged");
  const d = await c.diff(src, base + ":mutated");
  assert.ok(d.config.length > 0);
  assert.equal(d.added.length + d.removed.length + d.changed.length, 0);
  await c.tag(base + ":mutated", "extra");
  assert.equal((await c.inspect(base + ":extra")).digest, res?.digest);
  await c.untag(base + ":extra");
  await assert.rejects(c.inspect(base + ":extra"), NotFoundError);
});

test("pushArtifact then pullArtifact", async () => {
  const dir = join(srv.tmp, "art-in");
  mkdirSync(dir);
  const files: Record<string, Buffer> = { "a.txt": Buffer.from("alpha\n"), "big.bin": randomBytes(3 << 20) };
  for (const [name, data] of Object.entries(files)) {
    writeFileSync(join(dir, name), data);
    chmodSync(join(dir, name), 0o600);
  }
  const ref = `oci:${join(srv.tmp, "art")}:v1`;
  const m = await c.pushArtifact(ref, Object.keys(files).map((f) => join(dir, f)), { artifactType: "application/vnd.example.test" });
  const out = join(srv.tmp, "art-out");
  const pulled = await c.pullArtifact(ref, out);
  assert.equal(pulled.manifest?.digest, m?.digest);
  assert.equal(pulled.files.length, 2);
  for (const [name, data] of Object.entries(files)) {
    const got = readFileSync(join(out, name));
    assert.equal(createHash("sha256").update(got).digest("hex"), createHash("sha256").update(data).digest("hex"));
    assert.equal(statSync(join(out, name)).mode & 0o777, 0o600);
  }
  assert.equal((await c.discoverReferrers(ref))?.descriptor?.digest, m?.digest);
});

test("a distribution registry through the server", { skip: skipWithout(registryBin, "distribution registry (STEVEDORE_REGISTRY_BIN)") }, async () => {
  const dist = await startDistribution(srv);
  try {
    const ref = `${dist.host}/fixture/files:v1`;
    const info = await c.inspect(ref);
    assert.equal(info.digest, srv.fixture.filesImage.digest);
    const raw = (await c.getManifest(ref)).raw;
    assert.equal("sha256:" + createHash("sha256").update(raw).digest("hex"), info.digest);
    const layer = info.layers[0];
    assert.equal(await c.downloadBlob(`${dist.host}/fixture/files@${layer.digest}`, join(srv.tmp, "layer")), Number(layer.size));
    await assert.rejects(c.inspect(`${dist.host}/fixture/files:missing`), NotFoundError);
  } finally {
    await dist.stop();
  }
});
