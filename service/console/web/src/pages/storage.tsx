// Storage: the bytes each repository holds (StorageUsage), the largest as
// a chart (held alone vs shared with other repositories), all in a table.

import { useState } from "preact/hooks";
import { get } from "../api";
import { count, num, size } from "../format";
import { href } from "../router";
import type { RepositoryUsage, StorageUsageResponse } from "../types";
import { BarChart, compare, Field, Legend, Show, SortHeader, useAsync, type Sort } from "../ui";

/** charted is how many repositories the chart shows; the rest are summed. */
const charted = 20;
const perPage = 50;

type Key = "name" | "bytes" | "shared" | "blobs";

export function StoragePage() {
  const u = useAsync((signal) => get<StorageUsageResponse>("/v1/storage:usage", {}, signal), []);
  return (
    <section>
      <h1 tabIndex={-1}>Storage</h1>
      <Show a={u} what="Measuring the store">
        {(d) => <Usage d={d} />}
      </Show>
    </section>
  );
}

function Usage({ d }: { d: StorageUsageResponse }) {
  const [sort, setSort] = useState<Sort<Key>>({ key: "bytes", desc: true });
  const [page, setPage] = useState(0);
  const byBytes = [...d.repositories].sort((a, b) => num(b.bytes) - num(a.bytes));
  const top = byBytes.slice(0, charted);
  const rest = byBytes.slice(charted);
  const rows = top.map((r) => ({
    label: r.name,
    bars: [
      { value: num(r.bytes) - num(r.sharedBytes), class: "s-own", label: "own" },
      { value: num(r.sharedBytes), class: "s-shared", label: "shared" },
    ],
  }));
  if (rest.length > 0) {
    const own = rest.reduce((s, r) => s + num(r.bytes) - num(r.sharedBytes), 0);
    const shared = rest.reduce((s, r) => s + num(r.sharedBytes), 0);
    rows.push({
      label: `${count(rest.length)} others`,
      bars: [
        { value: own, class: "s-own", label: "own" },
        { value: shared, class: "s-shared", label: "shared" },
      ],
    });
  }
  const value = (r: RepositoryUsage) => (sort.key === "name" ? r.name : sort.key === "blobs" ? r.blobs : sort.key === "shared" ? num(r.sharedBytes) : num(r.bytes));
  const sorted = [...d.repositories].sort((a, b) => (sort.desc ? -1 : 1) * compare(value(a), value(b)));
  const pages = Math.max(1, Math.ceil(sorted.length / perPage));
  const shown = sorted.slice(page * perPage, (page + 1) * perPage);
  return (
    <>
      <dl class="facts totals">
        <Field name="On disk">
          <span data-bytes={num(d.totalBytes)}>{`${size(d.totalBytes)} (${count(num(d.totalBytes))} bytes)`}</span>
        </Field>
        <Field name="Shared">{`${size(d.sharedBytes)} held by more than one repository`}</Field>
        <Field name="Repositories">{count(d.repositories.length)}</Field>
      </dl>
      {d.repositories.length > 0 && (
        <>
          <Legend
            items={[
              { class: "s-own", label: "held by this repository only" },
              { class: "s-shared", label: "shared with other repositories (stored once)" },
            ]}
          />
          <BarChart caption={`The ${Math.min(charted, byBytes.length)} largest repositories`} rows={rows} stacked format={size} />
          <div class="table-wrap">
            <table class="usage">
              <caption>
                Every repository{pages > 1 ? ` — page ${page + 1} of ${pages}` : ""}
              </caption>
              <thead>
                <tr>
                  <SortHeader k="name" sort={sort} setSort={(s) => (setSort(s), setPage(0))}>
                    Repository
                  </SortHeader>
                  <SortHeader k="bytes" sort={sort} setSort={(s) => (setSort(s), setPage(0))} class="num">
                    Bytes
                  </SortHeader>
                  <SortHeader k="shared" sort={sort} setSort={(s) => (setSort(s), setPage(0))} class="num">
                    Shared
                  </SortHeader>
                  <SortHeader k="blobs" sort={sort} setSort={(s) => (setSort(s), setPage(0))} class="num">
                    Blobs
                  </SortHeader>
                </tr>
              </thead>
              <tbody>
                {shown.map((r) => (
                  <tr key={r.name} data-repo={r.name}>
                    <th scope="row">
                      <a href={href(["r", r.name])}>{r.name}</a>
                    </th>
                    <td class="num">{size(r.bytes)}</td>
                    <td class="num">{size(r.sharedBytes)}</td>
                    <td class="num">{count(r.blobs)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {pages > 1 && (
            <nav class="pager" aria-label="Pages">
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
        </>
      )}
    </>
  );
}
