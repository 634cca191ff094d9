// Two tags compared (the Diff RPC): config fields, shared layers, and the
// files added, removed and changed between their merged filesystems.

import { useState } from "preact/hooks";
import { get } from "../api";
import { count, mode, short, size } from "../format";
import { storeRef } from "../refs";
import { go, href, type Route } from "../router";
import type { DiffResponse, FileInfo } from "../types";
import { Show, useAsync } from "../ui";
import { useTags } from "./image";

/** rowsShown bounds each file list until "show all". */
const rowsShown = 500;

export function DiffPage({ name, a, b, route }: { name: string; a: string; b: string; route: Route }) {
  const platform = route.query.get("platform") ?? "";
  const d = useAsync((signal) => get<DiffResponse>("/v1/images:diff", { ref: storeRef(name, a), other_ref: storeRef(name, b), platform }, signal), [name, a, b, platform]);
  const tags = useTags(name);
  return (
    <section>
      <p class="crumbs">
        <a href={href([])}>Repositories</a> / <a href={href(["r", name])}>{name}</a> /
      </p>
      <h1 tabIndex={-1}>
        {a} → {b}
      </h1>
      {tags.data && (
        <form
          class="compare"
          onSubmit={(e) => {
            e.preventDefault();
            const f = new FormData(e.target as HTMLFormElement);
            go(href(["diff", name, String(f.get("a")), String(f.get("b"))]));
          }}
        >
          <label for="diff-a">A</label>
          <select id="diff-a" name="a" value={a}>
            {tags.data.tags.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
          <label for="diff-b">B</label>
          <select id="diff-b" name="b" value={b}>
            {tags.data.tags.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
          <button type="submit">Compare</button>
        </form>
      )}
      <Show a={d} what="Comparing (both images' layers are read on the server)">
        {(r) => (
          <>
            <dl class="facts">
              <dt>A</dt>
              <dd>
                <a href={href(["i", name, a])}>{a}</a> <code title={r.a}>{short(r.a)}</code>
              </dd>
              <dt>B</dt>
              <dd>
                <a href={href(["i", name, b])}>{b}</a> <code title={r.b}>{short(r.b)}</code>
              </dd>
              <dt>Shared layers</dt>
              <dd>{r.sharedLayers}</dd>
              <dt>Files</dt>
              <dd>
                <span class="add" data-added={r.added.length}>
                  +{count(r.added.length)}
                </span>{" "}
                <span class="del" data-removed={r.removed.length}>
                  −{count(r.removed.length)}
                </span>{" "}
                <span class="chg" data-changed={r.changed.length}>
                  ~{count(r.changed.length)}
                </span>
              </dd>
            </dl>
            {r.a === r.b && <p>Both tags name the same manifest.</p>}
            <h2>Config</h2>
            {r.config.length === 0 ? (
              <p>The configs agree.</p>
            ) : (
              <div class="table-wrap">
                <table class="config-diff">
                  <caption class="visually-hidden">Config fields that differ</caption>
                  <thead>
                    <tr>
                      <th scope="col">Field</th>
                      <th scope="col">A</th>
                      <th scope="col">B</th>
                    </tr>
                  </thead>
                  <tbody>
                    {r.config.map((c) => (
                      <tr key={c.field}>
                        <th scope="row">
                          <code>{c.field}</code>
                        </th>
                        <td>
                          <code class="wrap del">{c.a}</code>
                        </td>
                        <td>
                          <code class="wrap add">{c.b}</code>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            <FileList title="Added" cls="add" files={r.added} />
            <FileList title="Removed" cls="del" files={r.removed} />
            <h2>Changed ({count(r.changed.length)})</h2>
            {r.changed.length > 0 && (
              <div class="table-wrap">
                <table class="changed">
                  <caption class="visually-hidden">Changed files</caption>
                  <thead>
                    <tr>
                      <th scope="col">Path</th>
                      <th scope="col">What</th>
                      <th scope="col" class="num">
                        Size A → B
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {r.changed.slice(0, rowsShown).map((c) => (
                      <tr key={c.path}>
                        <td>
                          <code>/{c.path}</code>
                        </td>
                        <td>{c.what.join(", ")}</td>
                        <td class="num">
                          {size(c.a?.size)} → {size(c.b?.size)}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </>
        )}
      </Show>
    </section>
  );
}

function FileList({ title, cls, files }: { title: string; cls: string; files: FileInfo[] }) {
  const [all, setAll] = useState(false);
  const shown = all ? files : files.slice(0, rowsShown);
  return (
    <>
      <h2>
        {title} ({count(files.length)})
      </h2>
      {files.length > 0 && (
        <ul class={`file-list ${cls}`}>
          {shown.map((f) => (
            <li key={f.path}>
              <code>{mode(f.type, f.mode)}</code> <code>/{f.path}</code> {f.type === "file" && <span class="muted">{size(f.size)}</span>}
            </li>
          ))}
        </ul>
      )}
      {files.length > shown.length && (
        <button type="button" onClick={() => setAll(true)}>
          Show all {count(files.length)}
        </button>
      )}
    </>
  );
}
