// What refers to the image, as a tree (DiscoverReferrers), each node named
// by kind (the Tree RPC): signatures with the verdict for the server's keys
// (Verify), attestations with their predicate type, verdict
// (VerifyAttestation) and statement, SBOMs and other artifacts with their
// files to download. A form verifies with another key or identity.

import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { bytes, call, get, readBlob, save, text } from "../api";
import { date, num, short, size } from "../format";
import { storeRef } from "../refs";
import { href } from "../router";
import type { Descriptor, DiscoverReferrersResponse, Finding, ReferrerNode, TreeEntry, TreeResponse, VerifyResponse } from "../types";
import { ErrorBox, Json, Show, useAsync } from "../ui";
import { maxShown, type Image } from "./image";

/** Kind is what a referrer is, by the Tree RPC's grouping. */
type Kind = "signature" | "attestation" | "sbom" | "other";

interface Facts {
  tree: DiscoverReferrersResponse;
  kinds: Map<string, { kind: Kind; entry: TreeEntry }>;
  legacy: { kind: Kind; entry: TreeEntry }[];
  findings: Map<string, Finding[]>;
  keys: string[];
}

async function load(img: Image, digest: string, signal: AbortSignal): Promise<Facts> {
  const ref = storeRef(img.name, digest);
  const keys = img.cfg.trustedKeys;
  const [tree, t, sig, att] = await Promise.all([
    get<DiscoverReferrersResponse>("/v1/referrers", { ref }, signal),
    get<TreeResponse>("/v1/images:tree", { ref }, signal),
    keys.length ? get<VerifyResponse>("/v1/images:verify", { ref, keyIds: keys }, signal) : undefined,
    keys.length ? get<VerifyResponse>("/v1/images:verifyAttestation", { ref, keyIds: keys }, signal) : undefined,
  ]);
  const kinds = new Map<string, { kind: Kind; entry: TreeEntry }>();
  const legacy: { kind: Kind; entry: TreeEntry }[] = [];
  const add = (kind: Kind, list: TreeEntry[]) =>
    list.forEach((entry) => {
      if (entry.format === "SIGNATURE_FORMAT_LEGACY") legacy.push({ kind, entry });
      else kinds.set(entry.manifest.digest, { kind, entry });
    });
  add("signature", t.signatures);
  add("attestation", t.attestations);
  add("sbom", t.sboms);
  add("other", t.other);
  const findings = new Map<string, Finding[]>();
  for (const f of [...(sig?.findings ?? []), ...(att?.findings ?? [])]) {
    const k = f.tag || f.manifest;
    findings.set(k, [...(findings.get(k) ?? []), f]);
  }
  return { tree, kinds, legacy, findings, keys };
}

export function ReferrersTab({ img }: { img: Image }) {
  const i = img.inspect;
  return (
    <>
      <h2>Referrers</h2>
      <Referrers img={img} digest={i.digest} />
      {i.manifestDigest && i.manifestDigest !== i.digest && (
        <>
          <h3>
            Of the platform's manifest <code>{short(i.manifestDigest)}</code>
          </h3>
          <Referrers img={img} digest={i.manifestDigest} />
        </>
      )}
      <VerifyForm img={img} />
    </>
  );
}

function Referrers({ img, digest }: { img: Image; digest: string }) {
  const facts = useAsync((signal) => load(img, digest, signal), [img.name, digest]);
  return (
    <Show a={facts} what="Finding referrers">
      {(f) => {
        const none = f.tree.root.referrers.length === 0 && f.legacy.length === 0;
        return (
          <>
            {f.keys.length === 0 && <p class="hint">The server's key directory holds no public key: signatures are listed, not verified.</p>}
            {none ? (
              <p>Nothing refers to {short(digest)}.</p>
            ) : (
              <ul class="referrers" aria-label={`Referrers of ${digest}`}>
                {f.tree.root.referrers.map((n) => (
                  <Node key={n.descriptor.digest} img={img} node={n} f={f} />
                ))}
                {f.legacy.map((l) => (
                  <Entry key={l.entry.tag} img={img} kind={l.kind} entry={l.entry} desc={l.entry.manifest} findings={f.findings.get(l.entry.tag) ?? []} keys={f.keys} />
                ))}
              </ul>
            )}
          </>
        );
      }}
    </Show>
  );
}

function Node({ img, node, f }: { img: Image; node: ReferrerNode; f: Facts }) {
  const k = f.kinds.get(node.descriptor.digest);
  return (
    <Entry img={img} kind={k?.kind ?? "other"} entry={k?.entry} desc={node.descriptor} findings={f.findings.get(node.descriptor.digest) ?? []} keys={f.keys}>
      {node.referrers.length > 0 && (
        <ul class="children">
          {node.referrers.map((c) => (
            <Node key={c.descriptor.digest} img={img} node={c} f={f} />
          ))}
        </ul>
      )}
    </Entry>
  );
}

const kindLabel: Record<Kind, string> = { signature: "Signature", attestation: "Attestation", sbom: "SBOM", other: "Artifact" };

function Entry({
  img,
  kind,
  entry,
  desc,
  findings,
  keys,
  children,
}: {
  img: Image;
  kind: Kind;
  entry?: TreeEntry;
  desc: Descriptor;
  findings: Finding[];
  keys: string[];
  children?: ComponentChildren;
}) {
  const created = desc.annotations?.["org.opencontainers.image.created"];
  const type = entry?.artifactType || desc.artifactType || desc.mediaType;
  return (
    <li class={`referrer kind-${kind}`} data-kind={kind} data-digest={desc.digest}>
      <div class="referrer-head">
        <span class={`badge kind ${kind}`}>{kindLabel[kind]}</span>{" "}
        <a href={href(["i", img.name, desc.digest, "manifest"])}>
          <code title={desc.digest}>{short(desc.digest)}</code>
        </a>{" "}
        <span class="muted">
          {entry?.tag ? `tag ${entry.tag} · ` : ""}
          {type}
          {created ? ` · ${date(created)}` : ""}
        </span>
      </div>
      {entry?.predicateType && kind !== "signature" && (
        <div>
          Predicate type: <code>{entry.predicateType}</code>
        </div>
      )}
      {(kind === "signature" || kind === "attestation") && <Verdict findings={findings} keys={keys} />}
      {kind === "attestation" && entry && <Statement img={img} entry={entry} />}
      {(kind === "sbom" || kind === "other") && entry && <Files img={img} layers={entry.layers} />}
      {children}
    </li>
  );
}

/** Verdict shows what Verify said of one signature or attestation. */
function Verdict({ findings, keys }: { findings: Finding[]; keys: string[] }) {
  if (keys.length === 0) return null;
  if (findings.length === 0) return <div class="verdict muted">Not checked.</div>;
  const ok = findings.find((f) => f.verified);
  if (ok)
    return (
      <div class="verdict ok" data-verified="true">
        ✓ Verified with key <code>{ok.key}</code>
        {ok.certificate ? ` (signer ${ok.certificate.subject})` : ""}
      </div>
    );
  return (
    <div class="verdict bad" data-verified="false">
      ✗ Not verified: {findings[0].reason}
      {findings[0].check ? ` (${findings[0].check})` : ""}
    </div>
  );
}

/** Statement shows an attestation's in-toto statement, read from its (small) bundle on demand. */
function Statement({ img, entry }: { img: Image; entry: TreeEntry }) {
  const [open, setOpen] = useState(false);
  const layer = entry.layers[0];
  if (!layer) return null;
  if (num(layer.size) > maxShown) return <p class="muted">The statement is {size(layer.size)}, too large to show.</p>;
  return (
    <details onToggle={(e) => setOpen((e.target as HTMLDetailsElement).open)}>
      <summary>Statement</summary>
      {open && <StatementBody img={img} digest={layer.digest} />}
    </details>
  );
}

function StatementBody({ img, digest }: { img: Image; digest: string }) {
  const s = useAsync(
    async (signal) => {
      const doc = JSON.parse(text(await readBlob(img.name, digest, undefined, signal))) as {
        dsseEnvelope?: { payload: string };
        payload?: string;
      };
      const payload = doc.dsseEnvelope?.payload ?? doc.payload;
      if (!payload) throw new Error("no DSSE payload in the attestation");
      return JSON.parse(text([bytes(payload)])) as unknown;
    },
    [digest],
  );
  return <Show a={s}>{(v) => <Json value={v} label="In-toto statement" />}</Show>;
}

/** Files lists an artifact's layers; titled ones can be downloaded. */
function Files({ img, layers }: { img: Image; layers: Descriptor[] }) {
  const [err, setErr] = useState<unknown>();
  return (
    <>
      <ul class="artifact-files">
        {layers.map((l) => {
          const title = l.annotations?.["org.opencontainers.image.title"] ?? "";
          return (
            <li key={l.digest}>
              {title || <code>{short(l.digest)}</code>} <span class="muted">({size(l.size)})</span>{" "}
              <button
                type="button"
                class="small"
                aria-label={`Download ${title || l.digest}`}
                onClick={async () => {
                  try {
                    save(await readBlob(img.name, l.digest), title ? title.split("/").pop()! : l.digest.replace(":", "-"), l.mediaType);
                  } catch (e) {
                    setErr(e);
                  }
                }}
              >
                Download
              </button>
            </li>
          );
        })}
      </ul>
      {err !== undefined && <ErrorBox error={err} />}
    </>
  );
}

/** VerifyForm checks the image's signatures against a key or identity the user gives. */
function VerifyForm({ img }: { img: Image }) {
  const [pem, setPem] = useState("");
  const [subject, setSubject] = useState("");
  const [issuer, setIssuer] = useState("");
  const [busy, setBusy] = useState(false);
  const [res, setRes] = useState<VerifyResponse | { error: unknown }>();
  return (
    <details class="verify-form">
      <summary>Verify with another key or identity</summary>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          try {
            const body: Record<string, unknown> = { ref: storeRef(img.name, img.inspect.digest) };
            if (pem.trim()) body.public_keys = [pem.trim()];
            if (subject.trim()) body.certificate_identities = [{ subject_regexp: subject.trim(), issuer: issuer.trim() }];
            setRes(await call<VerifyResponse>("POST", "/v1/images:verify", body));
          } catch (err) {
            setRes({ error: err });
          } finally {
            setBusy(false);
          }
        }}
      >
        <label for="verify-pem">Public key (PEM)</label>
        <textarea id="verify-pem" rows={4} value={pem} onInput={(e) => setPem((e.target as HTMLTextAreaElement).value)} placeholder="-----BEGIN PUBLIC KEY-----" />
        <p class="hint">or a keyless signer, checked offline against Sigstore's public-good root:</p>
        <label for="verify-subject">Certificate identity (regular expression)</label>
        <input id="verify-subject" value={subject} onInput={(e) => setSubject((e.target as HTMLInputElement).value)} placeholder="^https://github\.com/org/" />
        <label for="verify-issuer">OIDC issuer</label>
        <input id="verify-issuer" value={issuer} onInput={(e) => setIssuer((e.target as HTMLInputElement).value)} placeholder="https://token.actions.githubusercontent.com" />
        <button type="submit" disabled={busy || (!pem.trim() && !subject.trim())}>
          {busy ? "Verifying…" : "Verify"}
        </button>
      </form>
      {res && "error" in res && <ErrorBox error={res.error} />}
      {res && !("error" in res) && (
        <div role="status" class={res.verified ? "verdict ok" : "verdict bad"}>
          {res.verified ? "✓ Verified" : "✗ Not verified"}
          <ul>
            {res.findings.map((f, i) => (
              <li key={i}>
                <code>{short(f.manifest || f.tag)}</code>: {f.verified ? `verified${f.certificate ? ` (signer ${f.certificate.subject})` : ""}` : f.reason}
              </li>
            ))}
          </ul>
        </div>
      )}
    </details>
  );
}

