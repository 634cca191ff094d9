// The REST client: JSON calls and newline-delimited JSON streams to /v1 on
// the console's own origin, with the session's credentials. Nothing else is
// ever fetched: no CDN, no other host (the Content-Security-Policy enforces
// it too).

import { authorization, signedOut } from "./auth";

/** ApiError is a failed call: the HTTP status, gRPC code and OCI reason. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly reason = "",
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** Query values; arrays repeat the parameter, undefined and "" are left out. */
export type Query = Record<string, string | number | boolean | string[] | undefined>;

/** url builds a same-origin URL of the API. */
export function url(path: string, query?: Query): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined || v === "") continue;
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else q.append(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

interface CallOptions {
  query?: Query;
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
}

/** request sends one call and fails with an ApiError unless it is 2xx. */
async function request(path: string, o: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const auth = authorization();
  if (auth) headers.Authorization = auth;
  if (o.body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(url(path, o.query), {
    method: o.method ?? "GET",
    headers,
    body: o.body === undefined ? undefined : JSON.stringify(o.body),
    signal: o.signal,
    credentials: "omit", // the header carries the credentials; no cookies, no browser-cached Basic
    cache: "no-store",
  });
  if (!resp.ok) throw await errorOf(resp);
  return resp;
}

/** errorOf turns an error answer (a google.rpc.Status as JSON, or text) into an ApiError. */
async function errorOf(resp: Response): Promise<ApiError> {
  const text = await resp.text();
  let message = text.trim() || resp.statusText;
  let reason = "";
  try {
    const s = JSON.parse(text) as { message?: string; details?: { reason?: string }[] };
    message = s.message ?? message;
    reason = s.details?.find((d) => d.reason)?.reason ?? "";
  } catch {
    // not JSON: the guard's and the token endpoint's plain answers
  }
  if (resp.status === 401) signedOut();
  return new ApiError(message, resp.status, reason);
}

/** get calls a GET route and decodes its JSON. */
export async function get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
  return (await request(path, { query, signal })).json() as Promise<T>;
}

/** call sends a JSON body (or none, for DELETE) and decodes the answer. */
export async function call<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
  return (await request(path, { method, body, query })).json() as Promise<T>;
}

/**
 * stream reads a streaming RPC: one `{"result": ...}` per line, or an
 * `{"error": ...}` line that ends it. Leaving the loop early cancels the
 * request, so a preview reads no further than it shows.
 */
export async function* stream<T>(path: string, o: CallOptions = {}): AsyncGenerator<T> {
  const abort = new AbortController();
  const outer = o.signal;
  const onAbort = () => abort.abort();
  outer?.addEventListener("abort", onAbort);
  try {
    const resp = await request(path, { ...o, signal: abort.signal });
    const reader = resp.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (value) buf += value;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) yield parseLine<T>(line);
      }
      if (done) break;
    }
    if (buf.trim()) yield parseLine<T>(buf);
  } finally {
    outer?.removeEventListener("abort", onAbort);
    abort.abort();
  }
}

function parseLine<T>(line: string): T {
  const m = JSON.parse(line) as { result?: T; error?: { code?: number; message?: string; details?: { reason?: string }[] } };
  if (m.error) {
    throw new ApiError(m.error.message ?? "stream failed", 200, m.error.details?.find((d) => d.reason)?.reason ?? "");
  }
  return m.result as T;
}

/** bytes decodes base64 (bytes fields in JSON). */
export function bytes(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/**
 * readBlob reads a blob of the served store, at most limit bytes. A whole
 * sha256 blob is checked against its digest where the browser offers
 * WebCrypto (secure contexts: https, or loopback).
 */
export async function readBlob(repo: string, digest: string, limit?: number, signal?: AbortSignal): Promise<Uint8Array[]> {
  const parts: Uint8Array[] = [];
  for await (const c of stream<{ data: string }>("/v1/blobs", {
    query: { ref: `store:${repo}@${digest}`, length: limit },
    signal,
  })) {
    if (c.data) parts.push(bytes(c.data));
  }
  if (limit === undefined && digest.startsWith("sha256:") && globalThis.crypto?.subtle) {
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) all.set(p, (at += p.length) - p.length);
    const sum = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
    const hex = Array.from(sum, (b) => b.toString(16).padStart(2, "0")).join("");
    if (`sha256:${hex}` !== digest) throw new ApiError(`blob ${digest} arrived as sha256:${hex}`, 200, "DIGEST_INVALID");
  }
  return parts;
}

/** text decodes parts as UTF-8. */
export function text(parts: Uint8Array[]): string {
  const d = new TextDecoder();
  return parts.map((p, i) => d.decode(p, { stream: i < parts.length - 1 })).join("");
}

/** save hands bytes to the browser as a download named name. */
export function save(parts: Uint8Array[], name: string, type = "application/octet-stream") {
  const blob = new Blob(parts as BlobPart[], { type });
  const href = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = href;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10_000);
}
