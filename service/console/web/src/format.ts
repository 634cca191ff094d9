// Formatting of sizes, dates, digests and modes.

import type { Int64, Platform } from "./types";

/** num reads an int64 field. */
export function num(v: Int64 | undefined | null): number {
  return v === undefined || v === null ? 0 : Number(v);
}

const units = ["B", "KiB", "MiB", "GiB", "TiB"];

/** size formats a byte count in binary units. */
export function size(v: Int64 | undefined | null): string {
  let n = num(v);
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${n < 10 ? n.toFixed(1) : Math.round(n)} ${units[i]}`;
}

/** short shortens a digest to its algorithm and 12 hex digits. */
export function short(digest: string): string {
  const [alg, hex] = digest.split(":");
  return hex ? `${alg}:${hex.slice(0, 12)}` : digest;
}

/** date formats an RFC 3339 time in UTC, minutes precision. */
export function date(t: string | null | undefined): string {
  if (!t) return "";
  const d = new Date(t);
  return isNaN(d.getTime()) ? t : d.toISOString().slice(0, 16).replace("T", " ");
}

/** platform formats os/arch[/variant]. */
export function platform(p: Platform | null | undefined): string {
  if (!p) return "";
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

/** mode formats permission bits as ls does. */
export function mode(type: string, m: Int64): string {
  const v = num(m);
  const t = ({ dir: "d", symlink: "l", char: "c", block: "b", fifo: "p" } as Record<string, string>)[type] ?? "-";
  let s = "";
  for (let i = 8; i >= 0; i--) s += v & (1 << i) ? "rwx"[(8 - i) % 3] : "-";
  return t + s;
}

const counter = new Intl.NumberFormat("en-US");

/** count formats an integer with thousands separators. */
export function count(n: number): string {
  return counter.format(n);
}
