// A repository's tags: digest, created, size, platforms and whether they
// are signed (verified with the server's keys), sortable; retag and delete
// for users who may; two tags to compare.

import { useEffect, useRef, useState } from "preact/hooks";
import { call, get } from "../api";
import { rightsOn, type Rights } from "../auth";
import { date, num, platform, short, size } from "../format";
import { pool } from "../pool";
import { registryRef, repoPath, storeRef } from "../refs";
import { go, href } from "../router";
import type { ConsoleConfig, InspectResponse, ListTagsResponse, TreeResponse, VerifyResponse } from "../types";
import { compare, ErrorBox, message, Show, SortHeader, useAsync, type Sort } from "../ui";

/** TagRow is what the table shows of one tag, filled in as it loads. */
interface TagRow {
  tag: string;
  digest?: string;
  created?: string;
  size?: number;
  platforms?: string;
  signed?: Signed;
  error?: string;
}

/** Signed is a tag's signature state. */
export interface Signed {
  state: "verified" | "unverified" | "none";
  by: string;
}

type Key = "tag" | "created" | "digest" | "size" | "platforms" | "signed";

/** signedState checks the signatures of a digest against the server's keys. */
export async function signedState(cfg: ConsoleConfig, repo: string, digest: string, signal?: AbortSignal): Promise<Signed> {
  const ref = storeRef(repo, digest);
  if (cfg.trustedKeys.length > 0) {
    const v = await get<VerifyResponse>("/v1/images:verify", { ref, keyIds: cfg.trustedKeys }, signal);
    if (v.verified) return { state: "verified", by: [...new Set(v.findings.filter((f) => f.verified).map((f) => f.key))].join(", ") };
    return { state: v.findings.length > 0 ? "unverified" : "none", by: "" };
  }
  const t = await get<TreeResponse>("/v1/images:tree", { ref }, signal);
  return { state: t.signatures.length > 0 ? "unverified" : "none", by: "" };
}

/** SignedBadge shows a signature state. */
export function SignedBadge({ s }: { s?: Signed }) {
  if (!s) return <span class="muted">…</span>;
  switch (s.state) {
    case "verified":
      return (
        <span class="badge ok" title={`verified with ${s.by}`}>
          ✓ signed
        </span>
      );
    case "unverified":
      return (
        <span class="badge warn" title="signatures found, none verified with the server's keys">
          signed, unverified
        </span>
      );
  }
  return <span class="muted">—</span>;
}

/** allDetails: up to this many tags, every row loads so sorting covers all. */
const allDetails = 300;
const perPage = 100;

export function RepoPage({ cfg, name }: { cfg: ConsoleConfig; name: string }) {
  const tags = useAsync((signal) => get<ListTagsResponse>("/v1/tags", { repository: `store:${name}` }, signal), [name]);
  const [rights, setRights] = useState<Rights>();
  useEffect(() => {
    rightsOn(name, cfg.auth, cfg.deleteDisabled).then(setRights, () => setRights({ pull: false, push: false, delete: false }));
  }, [name]);
  const [notice, setNotice] = useState("");

  return (
    <section>
      <p class="crumbs">
        <a href={href([])}>Repositories</a> /
      </p>
      <h1 tabIndex={-1}>{name}</h1>
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <p class="hint">Created is when each image was built (its config says); the store records no push time.</p>
      <Show a={tags} what="Loading tags">
        {(d) => <TagTable key={name} cfg={cfg} name={name} tags={d.tags ?? []} rights={rights} onChange={(msg) => (setNotice(msg), tags.reload())} />}
      </Show>
      {rights?.delete && (
        <section class="danger">
          <h2>Delete repository</h2>
          <p>Deletes every tag and manifest of {name}; its blobs go at the next garbage collection.</p>
          <button
            type="button"
            class="danger"
            onClick={async () => {
              if (!confirm(`Delete repository ${name} and every tag in it?`)) return;
              try {
                await call("DELETE", `/v1/repositories/${repoPath(name)}`);
                go(href([]));
              } catch (e) {
                setNotice(`Delete failed: ${message(e)}`);
              }
            }}
          >
            Delete {name}
          </button>
        </section>
      )}
    </section>
  );
}

function TagTable({ cfg, name, tags, rights, onChange }: { cfg: ConsoleConfig; name: string; tags: string[]; rights?: Rights; onChange: (msg: string) => void }) {
  const [rows, setRows] = useState<Map<string, TagRow>>(new Map());
  const [sort, setSort] = useState<Sort<Key>>({ key: "tag", desc: false });
  const [page, setPage] = useState(0);
  const [retag, setRetag] = useState<string>();

  const byName = [...tags].sort((a, b) => compare(a, b));
  const loadAll = tags.length <= allDetails;
  const pages = Math.max(1, Math.ceil(tags.length / perPage));
  const visibleNames = loadAll ? byName : byName.slice(page * perPage, (page + 1) * perPage);

  useEffect(() => {
    const abort = new AbortController();
    const todo = visibleNames.filter((t) => !rows.get(t)?.digest && !rows.get(t)?.error);
    const update = (r: TagRow) => setRows((m) => new Map(m).set(r.tag, r));
    pool(
      todo,
      4,
      async (tag) => {
        const row: TagRow = { tag };
        try {
          const i = await get<InspectResponse>("/v1/images:inspect", { ref: storeRef(name, tag) }, abort.signal);
          row.digest = i.digest;
          row.created = i.config?.created ?? "";
          row.size = i.layers.reduce((s, l) => s + num(l.size), 0);
          row.platforms = i.platforms.length > 0 ? i.platforms.map(platform).join(", ") : platform(i.config ? { os: i.config.os, architecture: i.config.architecture, variant: i.config.variant } : null);
          update({ ...row });
          row.signed = await signedState(cfg, name, i.digest, abort.signal);
        } catch (e) {
          if (abort.signal.aborted) return;
          row.error = message(e);
        }
        update(row);
      },
      abort.signal,
    );
    return () => abort.abort();
  }, [name, tags.join("\n"), page]);

  const shown = visibleNames.map((t) => rows.get(t) ?? { tag: t });
  const value = (r: TagRow): unknown => {
    switch (sort.key) {
      case "signed":
        return r.signed ? { verified: 0, unverified: 1, none: 2 }[r.signed.state] : undefined;
      case "tag":
        return r.tag;
      default:
        return r[sort.key];
    }
  };
  shown.sort((a, b) => {
    const c = compare(value(a), value(b));
    return sort.desc ? -c : c;
  });

  if (tags.length === 0) return <p>No tags.</p>;
  return (
    <>
      <Compare name={name} tags={byName} />
      <div class="table-wrap">
        <table class="tags">
          <caption>
            {tags.length} tag{tags.length === 1 ? "" : "s"}
            {!loadAll && ` — page ${page + 1} of ${pages}; sorting covers this page`}
          </caption>
          <thead>
            <tr>
              <SortHeader k="tag" sort={sort} setSort={setSort}>
                Tag
              </SortHeader>
              <SortHeader k="created" sort={sort} setSort={setSort} class="wide">
                Created
              </SortHeader>
              <SortHeader k="digest" sort={sort} setSort={setSort} class="wide">
                Digest
              </SortHeader>
              <SortHeader k="size" sort={sort} setSort={setSort} class="num">
                Size
              </SortHeader>
              <SortHeader k="platforms" sort={sort} setSort={setSort}>
                Platforms
              </SortHeader>
              <SortHeader k="signed" sort={sort} setSort={setSort}>
                Signed
              </SortHeader>
              {(rights?.push || rights?.delete) && (
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {shown.map((r) => (
              <tr key={r.tag} data-tag={r.tag}>
                <th scope="row">
                  <a href={href(["i", name, r.tag])}>{r.tag}</a>
                </th>
                {r.error ? (
                  <td colSpan={5} class="error">
                    {r.error}
                  </td>
                ) : (
                  <>
                    <td class="wide">{date(r.created)}</td>
                    <td class="wide" data-digest={r.digest}>
                      {r.digest ? <code title={r.digest}>{short(r.digest)}</code> : <span class="muted">…</span>}</td>
                    <td class="num" data-bytes={r.size}>
                      {r.size === undefined ? "" : size(r.size)}
                    </td>
                    <td>{r.platforms}</td>
                    <td class="signed" data-signed={r.signed?.state}>
                      <SignedBadge s={r.signed} />
                    </td>
                  </>
                )}
                {(rights?.push || rights?.delete) && (
                  <td class="actions">
                    {rights.push && (
                      <button type="button" class="small" onClick={() => setRetag(r.tag)} aria-label={`Retag ${r.tag}`}>
                        Retag
                      </button>
                    )}
                    {rights.delete && (
                      <button
                        type="button"
                        class="small danger"
                        aria-label={`Delete tag ${r.tag}`}
                        onClick={async () => {
                          if (!confirm(`Delete tag ${name}:${r.tag}? The image stays if other tags or digests name it.`)) return;
                          try {
                            await call("DELETE", "/v1/tags", undefined, { ref: registryRef(cfg.registry, name, r.tag) });
                            onChange(`Deleted tag ${r.tag}.`);
                          } catch (e) {
                            onChange(`Deleting ${r.tag} failed: ${message(e)}`);
                          }
                        }}
                      >
                        Delete
                      </button>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {!loadAll && (
        <nav class="pager" aria-label="Tag pages">
          <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>
            ← Previous
          </button>
          <span>
            Page {page + 1} of {pages}
          </span>
          <button type="button" disabled={page + 1 >= pages} onClick={() => setPage(page + 1)}>
            Next →
          </button>
        </nav>
      )}
      {retag && <RetagDialog name={name} tag={retag} onClose={(msg) => (setRetag(undefined), msg && onChange(msg))} />}
    </>
  );
}

/** RetagDialog points another tag at a tag's manifest (Tag RPC). */
function RetagDialog({ name, tag, onClose }: { name: string; tag: string; onClose: (msg?: string) => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [value, setValue] = useState("");
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    ref.current?.showModal();
  }, []);
  return (
    <dialog ref={ref} aria-labelledby="retag-title" onClose={() => onClose()}>
      <form
        method="dialog"
        onSubmit={async (e) => {
          e.preventDefault();
          try {
            await call("POST", "/v1/tags", { ref: storeRef(name, tag), tags: [value.trim()] });
            onClose(`Tagged ${name}:${tag} as ${value.trim()}.`);
          } catch (err) {
            setError(err);
          }
        }}
      >
        <h2 id="retag-title">
          Retag {name}:{tag}
        </h2>
        <label for="retag-new">New tag</label>
        <input id="retag-new" required pattern="[A-Za-z0-9_][A-Za-z0-9._-]{0,127}" value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
        {error !== undefined && <ErrorBox error={error} />}
        <div class="buttons">
          <button type="submit" class="primary">
            Tag
          </button>
          <button type="button" onClick={() => onClose()}>
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}

/** Compare picks two tags and opens their diff. */
function Compare({ name, tags }: { name: string; tags: string[] }) {
  const [a, setA] = useState(tags[0] ?? "");
  const [b, setB] = useState(tags[1] ?? tags[0] ?? "");
  if (tags.length < 2) return null;
  return (
    <form
      class="compare"
      onSubmit={(e) => {
        e.preventDefault();
        go(href(["diff", name, a, b]));
      }}
    >
      <label for="cmp-a">Compare</label>
      <select id="cmp-a" value={a} onChange={(e) => setA((e.target as HTMLSelectElement).value)}>
        {tags.map((t) => (
          <option key={t}>{t}</option>
        ))}
      </select>
      <label for="cmp-b">with</label>
      <select id="cmp-b" value={b} onChange={(e) => setB((e.target as HTMLSelectElement).value)}>
        {tags.map((t) => (
          <option key={t}>{t}</option>
        ))}
      </select>
      <button type="submit">Diff</button>
    </form>
  );
}
