// Repositories: a page at a time, searched by name prefix (the API's
// ListRepositories, which lists only what the user may pull).

import { useEffect, useState } from "preact/hooks";
import { get } from "../api";
import { count, num, size } from "../format";
import { go, href, type Route } from "../router";
import type { ListRepositoriesResponse } from "../types";
import { Show, useAsync } from "../ui";

const sizes = [50, 100, 500, 1000];

/** defaultSize keeps the first page fast: the server sums each listed repository's blobs. */
const defaultSize = 50;

export function ReposPage({ route }: { route: Route }) {
  const q = route.query.get("q") ?? "";
  const pageSize = Number(route.query.get("size")) || defaultSize;
  const after = route.query.get("after") ?? "";
  const [input, setInput] = useState(q);
  // Earlier pages' tokens, to step back; reset by a new search.
  const [trail, setTrail] = useState<string[]>([]);
  useEffect(() => setInput(q), [q]);

  const list = useAsync(
    (signal) => get<ListRepositoriesResponse>("/v1/repositories", { prefix: q, page_size: pageSize, page_token: after }, signal),
    [q, pageSize, after],
  );
  const link = (o: { q?: string; size?: number; after?: string }) =>
    href([], { q: o.q ?? q, size: (o.size ?? pageSize) === defaultSize ? undefined : String(o.size ?? pageSize), after: o.after });

  return (
    <section>
      <h1 tabIndex={-1}>Repositories</h1>
      <form
        role="search"
        class="search"
        onSubmit={(e) => {
          e.preventDefault();
          setTrail([]);
          go(link({ q: input.trim(), after: "" }));
        }}
      >
        <label for="repo-search">Name starts with</label>
        <input id="repo-search" type="search" value={input} placeholder="team/app" onInput={(e) => setInput((e.target as HTMLInputElement).value)} />
        <button type="submit">Search</button>
        <label for="repo-size">Per page</label>
        <select
          id="repo-size"
          value={String(pageSize)}
          onChange={(e) => {
            setTrail([]);
            go(link({ size: Number((e.target as HTMLSelectElement).value), after: "" }));
          }}
        >
          {sizes.map((s) => (
            <option key={s} value={String(s)}>
              {s}
            </option>
          ))}
        </select>
      </form>
      <Show a={list} what="Loading repositories">
        {(d) => (
          <>
            <p class="summary" role="status">
              {d.repositories.length === 0
                ? q
                  ? `No repository starts with “${q}”.`
                  : "No repositories yet."
                : `${count(trail.length * pageSize + 1)}–${count(trail.length * pageSize + d.repositories.length)}${d.nextPageToken ? "" : ` of ${count(trail.length * pageSize + d.repositories.length)}`}`}
            </p>
            {d.repositories.length > 0 && (
              <div class="table-wrap">
                <table class="repos">
                  <caption class="visually-hidden">Repositories</caption>
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col" class="num">
                        Tags
                      </th>
                      <th scope="col" class="num">
                        Stored
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {d.repositories.map((r) => (
                      <tr key={r.name} data-repo={r.name}>
                        <th scope="row">
                          <a href={href(["r", r.name])}>{r.name}</a>
                        </th>
                        <td class="num" data-tags={r.tagCount}>
                          {count(r.tagCount)}
                        </td>
                        <td class="num" title={`${count(num(r.storedBytes))} bytes`} data-bytes={num(r.storedBytes)}>
                          {size(r.storedBytes)}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            <nav class="pager" aria-label="Pages">
              <button
                type="button"
                disabled={trail.length === 0}
                onClick={() => {
                  const prev = trail[trail.length - 1];
                  setTrail(trail.slice(0, -1));
                  go(link({ after: prev }));
                }}
              >
                ← Previous
              </button>
              <span>Page {trail.length + 1}</span>
              <button
                type="button"
                disabled={!d.nextPageToken}
                onClick={() => {
                  setTrail([...trail, after]);
                  go(link({ after: d.nextPageToken }));
                }}
              >
                Next →
              </button>
            </nav>
          </>
        )}
      </Show>
    </section>
  );
}
