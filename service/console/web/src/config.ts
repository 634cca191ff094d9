// The server's settings the API does not carry (/console.json), loaded once.

import type { ConsoleConfig } from "./types";

let loaded: Promise<ConsoleConfig> | undefined;

/** config loads /console.json once per page load. */
export function config(): Promise<ConsoleConfig> {
  loaded ??= fetch("/console.json", { credentials: "omit", cache: "no-store" }).then((r) => {
    if (!r.ok) throw new Error(`/console.json: ${r.status}`);
    return r.json() as Promise<ConsoleConfig>;
  });
  return loaded;
}
