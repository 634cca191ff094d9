// The console's shell: header, navigation, sign-in, and the page the hash
// route names. Entry point of the bundle (esbuild, build.mjs).

import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import "./styles.css";
import { authorization, onAuthChange, signOut, user } from "./auth";
import { config } from "./config";
import { href, useRoute } from "./router";
import type { ConsoleConfig } from "./types";
import { ErrorBox, Loading } from "./ui";
import { ReposPage } from "./pages/repos";
import { RepoPage } from "./pages/repo";
import { ImagePage } from "./pages/image";
import { DiffPage } from "./pages/diff";
import { StoragePage } from "./pages/storage";
import { ActivityPage } from "./pages/activity";
import { LoginPage } from "./pages/login";

/** Theme is the colour scheme: the system's unless chosen. */
type Theme = "auto" | "light" | "dark";

function applyTheme(t: Theme) {
  if (t === "auto") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = t;
}

function ThemeSwitch() {
  const [theme, setTheme] = useState<Theme>(() => (localStorage.getItem("stevedore.theme") as Theme) || "auto");
  useEffect(() => {
    applyTheme(theme);
    localStorage.setItem("stevedore.theme", theme);
  }, [theme]);
  return (
    <label class="theme">
      <span class="visually-hidden">Colour scheme</span>
      <select value={theme} onChange={(e) => setTheme((e.target as HTMLSelectElement).value as Theme)}>
        <option value="auto">Auto</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </label>
  );
}

// Asked for at once, beside the first page's own call.
config().catch(() => {});

function App() {
  const route = useRoute();
  const [cfg, setCfg] = useState<ConsoleConfig>();
  const [err, setErr] = useState<unknown>();
  const [, setAuthTick] = useState(0);
  useEffect(() => {
    config().then(setCfg, setErr);
    return onAuthChange(() => setAuthTick((n) => n + 1));
  }, []);
  const [page, ...args] = route.parts;

  // After a navigation (not the first load, where the skip link comes
  // first), move focus to the new page's heading, so keyboard and screen
  // reader users land on what changed.
  const where = route.parts.join("/");
  const last = useRef(where);
  useEffect(() => {
    if (last.current === where) return;
    last.current = where;
    document.querySelector<HTMLElement>("main h1")?.focus({ preventScroll: true });
  }, [where]);

  if (err) return <ErrorBox error={err} />;
  // The repository list needs nothing from /console.json, so it loads
  // alongside it: one round trip less on the first page.
  const needLogin = !!cfg?.auth && !authorization();
  const nav: [string, string, string][] = [
    ["", "Repositories", href([])],
    ["storage", "Storage", href(["storage"])],
    ["activity", "Activity", href(["activity"])],
  ];
  const current = page === "r" || page === "i" || page === "diff" ? "" : page ?? "";

  let body;
  if (needLogin) body = <LoginPage />;
  else if (page === undefined || page === "") body = <ReposPage route={route} />;
  else if (!cfg) body = <Loading />;
  else
    switch (page) {
      case "r":
        body = <RepoPage cfg={cfg} name={args[0] ?? ""} />;
        break;
      case "i":
        body = <ImagePage cfg={cfg} name={args[0] ?? ""} reference={args[1] ?? ""} tab={args[2] ?? "overview"} route={route} />;
        break;
      case "diff":
        body = <DiffPage name={args[0] ?? ""} a={args[1] ?? ""} b={args[2] ?? ""} route={route} />;
        break;
      case "storage":
        body = <StoragePage />;
        break;
      case "activity":
        body = <ActivityPage cfg={cfg} route={route} />;
        break;
      default:
        body = (
          <>
            <h1 tabIndex={-1}>Not found</h1>
            <p>
              No page here. <a href={href([])}>Repositories</a>
            </p>
          </>
        );
    }

  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById("main")?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href([])}>
          stevedore
        </a>
        {!needLogin && (
          <nav aria-label="Main">
            <ul>
              {nav.map(([k, label, link]) => (
                <li key={k}>
                  <a href={link} aria-current={current === k ? "page" : undefined}>
                    {label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
        )}
        <div class="session">
          <ThemeSwitch />
          {cfg?.auth && user() && (
            <>
              <span class="user">{user()}</span>
              <button type="button" class="small" onClick={signOut}>
                Sign out
              </button>
            </>
          )}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {body}
      </main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
