// Pull commands for the image, for the clients people have.

import { user } from "../auth";
import { registryRef, storeRef } from "../refs";
import { href } from "../router";
import type { ConsoleConfig } from "../types";
import { CopyButton } from "../ui";

/** snippets are the pull commands of a reference at the registry port. */
export function snippets(cfg: ConsoleConfig, repo: string, reference: string): [string, string][] {
  const ref = registryRef(cfg.registry, repo, reference);
  const local = `${repo.split("/").pop()}${reference.includes(":") ? "" : `:${reference}`}`;
  const plain = !cfg.tls;
  return [
    ["docker", `docker pull ${ref}`],
    ["crane", `crane pull ${plain ? "--insecure " : ""}${ref} ${repo.split("/").pop()}.tar`],
    ["skopeo", `skopeo copy ${plain ? "--src-tls-verify=false " : ""}docker://${ref} oci:${local}`],
    ["stevedore", `stevedore copy ${ref} oci:./${local}`],
  ];
}

/** Snippets shows the commands, each with a copy button. */
export function Snippets({ cfg, repo, reference }: { cfg: ConsoleConfig; repo: string; reference: string }) {
  return (
    <aside class="snippets" aria-labelledby="snippets-title">
      <h2 id="snippets-title">Pull</h2>
      {cfg.auth && (
        <p class="hint">
          Log in first, e.g. <code>docker login {cfg.registry}{user() ? ` -u ${user()}` : ""}</code>
        </p>
      )}
      <dl>
        {snippets(cfg, repo, reference).map(([tool, cmd]) => (
          <div key={tool} class="snippet">
            <dt>{tool}</dt>
            <dd>
              <code data-tool={tool}>{cmd}</code> <CopyButton text={cmd} label={`Copy ${tool} command`} />
            </dd>
          </div>
        ))}
      </dl>
      <p>
        <a href={href(["activity"], { source: storeRef(repo, reference) })}>Copy it elsewhere…</a>
      </p>
    </aside>
  );
}
