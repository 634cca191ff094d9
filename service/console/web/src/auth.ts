// Sign-in. With `serve --htpasswd` the console asks for a user name and
// password and checks them at the registry's token endpoint (mounted on the
// REST port at /token): the same Docker token flow `docker login` uses.
//
// API calls then carry `Authorization: Basic`, kept in sessionStorage: it
// lives as long as the tab, is never a cookie (so the browser never sends it
// on its own, and no other site can make it: no CSRF), and is dropped on
// sign-out or the first 401. Registry tokens are not used for the calls
// because a token grants only the repositories its scopes name, and the
// repository list and storage usage need every repository the user may
// pull. What a user may do to one repository (push, delete: whether the
// console shows retag and delete buttons) is read from a token the endpoint
// issues for `repository:NAME:pull,push,delete`, cut down to the user's
// rights: the access claim says what is granted.

const KEY = "stevedore.auth";
const USER = "stevedore.user";

let listeners: (() => void)[] = [];

/** authorization is the Authorization header of API calls, if signed in. */
export function authorization(): string | undefined {
  return sessionStorage.getItem(KEY) ?? undefined;
}

/** user is the signed-in user's name, if any. */
export function user(): string | undefined {
  return sessionStorage.getItem(USER) ?? undefined;
}

/** onAuthChange calls f on sign-in and sign-out. */
export function onAuthChange(f: () => void): () => void {
  listeners.push(f);
  return () => {
    listeners = listeners.filter((l) => l !== f);
  };
}

function changed() {
  rights.clear();
  listeners.forEach((l) => l());
}

/** basic encodes user:password (UTF-8) as a Basic authorization value. */
function basic(name: string, password: string): string {
  const b = new TextEncoder().encode(`${name}:${password}`);
  let s = "";
  b.forEach((c) => (s += String.fromCharCode(c)));
  return `Basic ${btoa(s)}`;
}

/** token asks the token endpoint for scopes with the given credentials. */
async function token(auth: string, scope: string): Promise<Response> {
  return fetch(`/token?scope=${encodeURIComponent(scope)}`, {
    headers: { Authorization: auth },
    credentials: "omit",
    cache: "no-store",
  });
}

/** signIn checks the credentials at the token endpoint and keeps them. */
export async function signIn(name: string, password: string): Promise<void> {
  const auth = basic(name, password);
  const resp = await token(auth, "registry:catalog:*");
  if (resp.status === 401) throw new Error("Wrong user name or password.");
  if (!resp.ok) throw new Error(`Sign-in failed: ${resp.status} ${resp.statusText}`);
  sessionStorage.setItem(KEY, auth);
  sessionStorage.setItem(USER, name);
  changed();
}

/** signOut forgets the credentials. */
export function signOut() {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(USER);
  changed();
}

/** signedOut is called on a 401: the credentials no longer work. */
export function signedOut() {
  if (authorization()) signOut();
  else changed();
}

/** Rights are the actions a user may take on one repository. */
export interface Rights {
  pull: boolean;
  push: boolean;
  delete: boolean;
}

const rights = new Map<string, { at: number; r: Promise<Rights> }>();

/** rightsTTL is below the tokens' five minutes. */
const rightsTTL = 60_000;

/**
 * rightsOn says what the signed-in user may do on repo. Without auth the
 * server lets everyone do everything (but delete under --disable-delete).
 */
export function rightsOn(repo: string, authOn: boolean, deleteDisabled: boolean): Promise<Rights> {
  const cached = rights.get(repo);
  if (cached && Date.now() - cached.at < rightsTTL) return cached.r;
  const r = (async (): Promise<Rights> => {
    if (!authOn) return { pull: true, push: true, delete: !deleteDisabled };
    const auth = authorization();
    if (!auth) return { pull: false, push: false, delete: false };
    const resp = await token(auth, `repository:${repo}:pull,push,delete`);
    if (!resp.ok) return { pull: false, push: false, delete: false };
    const { access_token: tok } = (await resp.json()) as { access_token: string };
    const granted = claims(tok)
      .filter((a) => a.type === "repository" && a.name === repo)
      .flatMap((a) => a.actions);
    const has = (x: string) => granted.includes(x) || granted.includes("*");
    return { pull: has("pull"), push: has("push"), delete: has("delete") && !deleteDisabled };
  })();
  rights.set(repo, { at: Date.now(), r });
  return r;
}

/** claims reads a JWT's access claim; the server checks the signature, the console only reads. */
function claims(jwt: string): { type: string; name: string; actions: string[] }[] {
  try {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = new TextDecoder().decode(Uint8Array.from(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")), (c) => c.charCodeAt(0)));
    return (JSON.parse(json) as { access?: { type: string; name: string; actions: string[] }[] }).access ?? [];
  } catch {
    return [];
  }
}
