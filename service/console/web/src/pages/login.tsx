// The sign-in form (serve --htpasswd).

import { useState } from "preact/hooks";
import { signIn } from "../auth";

export function LoginPage() {
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  return (
    <section class="login">
      <h1 tabIndex={-1}>Sign in</h1>
      <form
        method="post"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError("");
          try {
            await signIn(name, password);
          } catch (err) {
            setError(err instanceof Error ? err.message : String(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <label for="login-user">User name</label>
        <input id="login-user" name="username" autocomplete="username" required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        <label for="login-password">Password</label>
        <input
          id="login-password"
          name="password"
          type="password"
          autocomplete="current-password"
          required
          value={password}
          onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
        />
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
      <p class="hint">The same users as the registry. Your password is kept only for this browser tab.</p>
    </section>
  );
}
