// References the console sends: the served store's own (`store:NAME`), read
// directly by the server as the signed-in user.

/** storeRef names a tag (`v1`) or digest (`sha256:...`) of a repository. */
export function storeRef(repo: string, reference: string): string {
  return reference.includes(":") ? `store:${repo}@${reference}` : `store:${repo}:${reference}`;
}

/** registryRef names it at the registry port (for clients, and Untag). */
export function registryRef(registry: string, repo: string, reference: string): string {
  return reference.includes(":") ? `${registry}/${repo}@${reference}` : `${registry}/${repo}:${reference}`;
}

/** repoPath is the path of a repository in REST routes ({name=**}). */
export function repoPath(repo: string): string {
  return repo.split("/").map(encodeURIComponent).join("/");
}
