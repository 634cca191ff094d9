// Small shared pieces: async loading, errors, copy buttons, sortable
// headers, bar charts, JSON.

import type { ComponentChildren } from "preact";
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api";
import { short } from "./format";

/** Async is the state of a load. */
export interface Async<T> {
  data?: T;
  error?: unknown;
  loading: boolean;
}

/**
 * useAsync runs load whenever deps change, cancelling (through the signal)
 * a load still running, and returns its state. It starts the load as the
 * page renders (a layout effect), not a frame later.
 */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Async<T> & { reload: () => void } {
  const [state, setState] = useState<Async<T>>({ loading: true });
  const [n, setN] = useState(0);
  const lastN = useRef(n);
  useLayoutEffect(() => {
    const abort = new AbortController();
    // A reload keeps showing the old data until the new arrives; other
    // inputs mean other data: never show the old under the new title.
    const reloading = lastN.current !== n;
    lastN.current = n;
    setState((s) => ({ data: reloading ? s.data : undefined, loading: true }));
    load(abort.signal).then(
      (data) => !abort.signal.aborted && setState({ data, loading: false }),
      (error) => !abort.signal.aborted && setState({ error, loading: false }),
    );
    return () => abort.abort();
  }, [...deps, n]);
  return { ...state, reload: () => setN((x) => x + 1) };
}

/** Loading says something is on its way, to screen readers too. */
export function Loading({ what = "Loading" }: { what?: string }) {
  return (
    <p class="loading" role="status">
      {what}…
    </p>
  );
}

/** message is an error's text, with its OCI reason. */
export function message(e: unknown): string {
  if (e instanceof ApiError) return e.reason ? `${e.message} (${e.reason})` : e.message;
  return e instanceof Error ? e.message : String(e);
}

/** ErrorBox shows a failed load. */
export function ErrorBox({ error }: { error: unknown }) {
  return (
    <p class="error" role="alert">
      {message(error)}
    </p>
  );
}

/** Show renders a load: its error, a loading line, or children(data). */
export function Show<T>({ a, what, children }: { a: Async<T>; what?: string; children: (d: T) => ComponentChildren }) {
  if (a.error !== undefined) return <ErrorBox error={a.error} />;
  if (a.data === undefined) return <Loading what={what} />;
  return <>{children(a.data)}</>;
}

/** CopyButton copies text to the clipboard. */
export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      class="small"
      aria-label={`${label}: ${text}`}
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
          setDone(true);
          setTimeout(() => setDone(false), 1500);
        } catch {
          // no clipboard (plain http on a non-loopback host): the text is selectable
        }
      }}
    >
      {done ? "Copied" : "Copy"}
    </button>
  );
}

/** Digest shows a digest shortened, the whole one in its title and copy button. */
export function Digest({ value }: { value: string }) {
  if (!value) return null;
  return (
    <span class="digest">
      <code title={value}>{short(value)}</code> <CopyButton text={value} label="Copy digest" />
    </span>
  );
}

/** Sort is a table's sort order. */
export interface Sort<K extends string> {
  key: K;
  desc: boolean;
}

/** SortHeader is a column header that sorts the table when activated. */
export function SortHeader<K extends string>({
  k,
  sort,
  setSort,
  children,
  class: cls,
}: {
  k: K;
  sort: Sort<K>;
  setSort: (s: Sort<K>) => void;
  children: ComponentChildren;
  class?: string;
}) {
  const active = sort.key === k;
  return (
    <th scope="col" class={cls} aria-sort={active ? (sort.desc ? "descending" : "ascending") : "none"}>
      <button type="button" class="sort" onClick={() => setSort({ key: k, desc: active ? !sort.desc : false })}>
        {children}
        <span aria-hidden="true">{active ? (sort.desc ? " ▾" : " ▴") : ""}</span>
      </button>
    </th>
  );
}

/** compare orders values of mixed kinds, empty last. */
export function compare(a: unknown, b: unknown): number {
  const empty = (v: unknown) => v === undefined || v === null || v === "";
  if (empty(a) || empty(b)) return empty(a) ? (empty(b) ? 0 : 1) : -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b), "en", { numeric: true });
}

/** Bar is one series of a bar chart row. */
export interface Bar {
  value: number;
  class: string;
  label: string;
}

/**
 * BarChart draws one row per item: its bars one above the other, or
 * stacked in one line, scaled to the largest value. Plain HTML (widths set
 * through the CSSOM, which the CSP allows), with each value in text too.
 */
export function BarChart({
  rows,
  caption,
  stacked = false,
  format,
}: {
  rows: { label: string; bars: Bar[] }[];
  caption: string;
  stacked?: boolean;
  format: (n: number) => string;
}) {
  const total = (r: { bars: Bar[] }) => (stacked ? r.bars.reduce((s, b) => s + b.value, 0) : Math.max(0, ...r.bars.map((b) => b.value)));
  const max = Math.max(1, ...rows.map(total));
  return (
    <figure class="chart">
      <figcaption>{caption}</figcaption>
      <ul class={stacked ? "chart-rows stacked" : "chart-rows"}>
        {rows.map((r, i) => (
          <li key={r.label + i} class="chart-row">
            <span class="chart-label" title={r.label}>
              {r.label}
            </span>
            <span class="chart-track">
              {r.bars.map((b) => (
                <span
                  key={b.class}
                  class={`bar ${b.class}`}
                  style={{ width: `${(b.value / max) * 100}%` }}
                  title={`${b.label}: ${format(b.value)}`}
                />
              ))}
            </span>
            <span class="chart-value">{r.bars.map((b) => `${b.label} ${format(b.value)}`).join(", ")}</span>
          </li>
        ))}
      </ul>
    </figure>
  );
}

/** Legend names a chart's series. */
export function Legend({ items }: { items: { class: string; label: string }[] }) {
  return (
    <ul class="legend">
      {items.map((i) => (
        <li key={i.class}>
          <span class={`swatch ${i.class}`} aria-hidden="true" />{" "}
          {i.label}
        </li>
      ))}
    </ul>
  );
}

/** Json pretty-prints a value. */
export function Json({ value, label }: { value: unknown; label: string }) {
  return (
    <pre class="code" tabIndex={0} aria-label={label}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

/** Field is one row of a definition list, left out when empty. */
export function Field({ name, children }: { name: string; children: ComponentChildren }) {
  if (children === undefined || children === null || children === false || children === "" || (Array.isArray(children) && children.length === 0)) return null;
  return (
    <>
      <dt>{name}</dt>
      <dd>{children}</dd>
    </>
  );
}

/** Toggle is a two-way switch between views (readable/raw). */
export function Toggle<K extends string>({ value, options, onChange, label }: { value: K; options: [K, string][]; onChange: (k: K) => void; label: string }) {
  return (
    <div class="toggle" role="group" aria-label={label}>
      {options.map(([k, text]) => (
        <button type="button" key={k} aria-pressed={value === k} onClick={() => onChange(k)}>
          {text}
        </button>
      ))}
    </div>
  );
}
