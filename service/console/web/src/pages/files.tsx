// The file browser: the image's merged root filesystem (every layer
// applied, whiteouts honoured: the ListFiles RPC), a directory at a time;
// a file's first bytes previewed (ReadFile, cancelled once enough is read)
// and the whole file downloadable.

import { useState } from "preact/hooks";
import { bytes, save, stream } from "../api";
import { count, date, mode, num, size } from "../format";
import { go, href, type Route } from "../router";
import type { FileInfo, ListFilesResponse, ReadFileResponse } from "../types";
import { ErrorBox, Loading, Show, useAsync } from "../ui";
import type { Image } from "./image";

/** previewBytes is how much of a file the preview reads. */
const previewBytes = 64 << 10;

/** Tree is a listing grouped by parent directory ("" is the root). */
type Tree = Map<string, FileInfo[]>;

function parent(p: string): string {
  const i = p.lastIndexOf("/");
  return i < 0 ? "" : p.slice(0, i);
}

function base(p: string): string {
  return p.slice(p.lastIndexOf("/") + 1);
}

async function listing(ref: string, onProgress: (n: number) => void, signal: AbortSignal): Promise<{ tree: Tree; files: number }> {
  const tree: Tree = new Map();
  let n = 0;
  for await (const batch of stream<ListFilesResponse>("/v1/images:files", { query: { ref }, signal })) {
    for (const f of batch.files) {
      const dir = parent(f.path);
      let list = tree.get(dir);
      if (!list) tree.set(dir, (list = []));
      list.push(f);
      n++;
    }
    onProgress(n);
  }
  return { tree, files: n };
}

export function FilesTab({ img, route }: { img: Image; route: Route }) {
  const dir = route.query.get("path") ?? "";
  const file = route.query.get("file") ?? "";
  const [progress, setProgress] = useState(0);
  const list = useAsync((signal) => listing(img.manifestRef, setProgress, signal), [img.manifestRef]);
  const [filter, setFilter] = useState("");
  const link = (q: { path?: string; file?: string }) => href(["i", img.name, img.reference, "files"], { platform: img.platform || undefined, path: q.path, file: q.file });

  const crumbs = dir ? dir.split("/") : [];
  return (
    <>
      <h2>Files</h2>
      <nav class="crumbs path" aria-label="Directory">
        <a href={link({})}>/</a>
        {crumbs.map((c, i) => (
          <span key={i}>
            {i > 0 && " / "}
            <a href={link({ path: crumbs.slice(0, i + 1).join("/") })} aria-current={i === crumbs.length - 1 ? "location" : undefined}>
              {c}
            </a>
          </span>
        ))}
      </nav>
      {list.data === undefined && list.error === undefined && <Loading what={`Listing files (${count(progress)} so far)`} />}
      <Show a={list} what="Listing files">
        {({ tree, files }) => {
          const entries = (tree.get(dir) ?? []).filter((f) => !filter || base(f.path).toLowerCase().includes(filter.toLowerCase()));
          return (
            <>
              <p class="summary">
                {count(files)} paths in the image. <label for="file-filter">Filter this directory</label>{" "}
                <input id="file-filter" type="search" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
              </p>
              {file && <Preview img={img} path={file} info={(tree.get(parent(file)) ?? []).find((f) => f.path === file)} onClose={() => go(link({ path: dir }))} />}
              <div class="table-wrap">
                <table class="files">
                  <caption class="visually-hidden">Files in /{dir}</caption>
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col" class="wide">
                        Mode
                      </th>
                      <th scope="col" class="num">
                        Size
                      </th>
                      <th scope="col" class="wide">
                        Owner
                      </th>
                      <th scope="col" class="wide">
                        Modified
                      </th>
                      <th scope="col" class="num">
                        Layer
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {dir && (
                      <tr>
                        <td colSpan={6}>
                          <a href={link({ path: parent(dir) })}>..</a>
                        </td>
                      </tr>
                    )}
                    {entries.map((f) => (
                      <tr key={f.path} data-path={f.path}>
                        <td>
                          {f.type === "dir" ? (
                            <a href={link({ path: f.path })} class="dir">
                              {base(f.path)}/
                            </a>
                          ) : f.type === "file" || f.type === "hardlink" || f.type === "symlink" ? (
                            <a href={link({ path: dir, file: f.path })} aria-current={f.path === file ? "true" : undefined}>
                              {base(f.path)}
                            </a>
                          ) : (
                            base(f.path)
                          )}
                          {f.linkname && <span class="muted"> → {f.linkname}</span>}
                        </td>
                        <td class="wide">
                          <code>{mode(f.type, f.mode)}</code>
                        </td>
                        <td class="num">{f.type === "file" ? size(f.size) : ""}</td>
                        <td class="wide">
                          {num(f.uid)}:{num(f.gid)}
                        </td>
                        <td class="wide">{date(f.mtime)}</td>
                        <td class="num" title={f.layerDigest}>
                          {f.layer}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              {entries.length === 0 && <p>{filter ? "Nothing here matches." : "Empty directory."}</p>}
            </>
          );
        }}
      </Show>
    </>
  );
}

/** readFile reads a file of the image, stopping after limit bytes if set. */
async function readFile(ref: string, path: string, limit?: number, signal?: AbortSignal): Promise<{ parts: Uint8Array[]; more: boolean }> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of stream<ReadFileResponse>("/v1/images:readFile", { query: { ref, path: `/${path}` }, signal })) {
    if (!c.data) continue;
    const b = bytes(c.data);
    if (limit !== undefined && n + b.length > limit) {
      parts.push(b.subarray(0, limit - n));
      return { parts, more: true }; // leaving the loop cancels the stream
    }
    parts.push(b);
    n += b.length;
  }
  return { parts, more: false };
}

/** looksBinary: a NUL byte, or text that is not UTF-8. */
function decode(parts: Uint8Array[]): string | undefined {
  const d = new TextDecoder("utf-8", { fatal: true });
  try {
    let s = "";
    parts.forEach((p, i) => (s += d.decode(p, { stream: i < parts.length - 1 })));
    return s.includes("\0") ? undefined : s;
  } catch {
    return undefined; // a cut in the middle of a character is not worth a false "binary"
  }
}

function Preview({ img, path, info, onClose }: { img: Image; path: string; info?: FileInfo; onClose: () => void }) {
  const p = useAsync((signal) => readFile(img.manifestRef, path, previewBytes, signal), [img.manifestRef, path]);
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<unknown>();
  return (
    <section class="preview" aria-labelledby="preview-title">
      <header>
        <h3 id="preview-title">/{path}</h3>
        <button
          type="button"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            setErr(undefined);
            try {
              const { parts } = await readFile(img.manifestRef, path);
              save(parts, base(path));
            } catch (e) {
              setErr(e);
            } finally {
              setBusy(false);
            }
          }}
        >
          {busy ? "Downloading…" : `Download${info ? ` (${size(info.size)})` : ""}`}
        </button>
        <button type="button" onClick={onClose} aria-label="Close preview">
          Close
        </button>
      </header>
      {err !== undefined && <ErrorBox error={err} />}
      <Show a={p} what="Reading">
        {({ parts, more }) => {
          const s = decode(parts);
          const n = parts.reduce((a, b) => a + b.length, 0);
          return (
            <>
              {more && (
                <p class="hint">
                  The first {size(n)} {info ? `of ${size(info.size)}` : ""}; download for the rest.
                </p>
              )}
              {s === undefined ? (
                <p class="muted">Binary file{info ? `, ${size(info.size)}` : ""}.</p>
              ) : (
                <pre class="code file-content" tabIndex={0} aria-label={`Content of /${path}`}>
                  {s}
                </pre>
              )}
            </>
          );
        }}
      </Show>
    </section>
  );
}

