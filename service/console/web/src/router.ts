// Hash routes: #/PATH/SEGMENTS?query. Segments are URI-encoded so that
// repository names (which hold '/') stay one segment. Hash routing keeps
// every deep link on `/`, so the server needs no fallback route and the
// console cannot shadow an API path.

import { useEffect, useState } from "preact/hooks";

/** Route is the parsed hash. */
export interface Route {
  parts: string[];
  query: URLSearchParams;
}

/** parse reads location.hash. */
export function parse(hash = location.hash): Route {
  const h = hash.replace(/^#\/?/, "");
  const [p, q = ""] = h.split("?", 2);
  const parts = p ? p.split("/").map((s) => decodeURIComponent(s)) : [];
  return { parts, query: new URLSearchParams(q) };
}

/** href builds a hash link from segments and query values. */
export function href(parts: string[], query?: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v) q.set(k, v);
  const s = q.toString();
  return "#/" + parts.map(encodeURIComponent).join("/") + (s ? `?${s}` : "");
}

/** go navigates to a hash link; replace keeps it out of history. */
export function go(link: string, replace = false) {
  if (replace) history.replaceState(null, "", link);
  else history.pushState(null, "", link);
  dispatchEvent(new HashChangeEvent("hashchange"));
}

/** useRoute re-renders on navigation. */
export function useRoute(): Route {
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const f = () => setRoute(parse());
    addEventListener("hashchange", f);
    return () => removeEventListener("hashchange", f);
  }, []);
  return route;
}
