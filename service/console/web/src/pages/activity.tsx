// Activity: copies started here, their progress streamed live from the
// Copy RPC (blob by blob, bytes as they move), and the form to start one.

import { useEffect, useState } from "preact/hooks";
import { allJobs, onJobs, startCopy, type Job } from "../jobs";
import { count, num, platform as fmtPlatform, short, size } from "../format";
import type { Route } from "../router";
import type { ConsoleConfig } from "../types";

export function ActivityPage({ route }: { cfg: ConsoleConfig; route: Route }) {
  const [, setTick] = useState(0);
  useEffect(() => onJobs(() => setTick((n) => n + 1)), []);
  const jobs = allJobs();
  return (
    <section>
      <h1 tabIndex={-1}>Activity</h1>
      <CopyForm source={route.query.get("source") ?? ""} />
      <h2>Copies</h2>
      {jobs.length === 0 ? <p>No copy started in this tab yet.</p> : jobs.map((j) => <JobView key={j.id} job={j} />)}
    </section>
  );
}

function CopyForm({ source: initial }: { source: string }) {
  const [source, setSource] = useState(initial);
  const [destination, setDestination] = useState("");
  const [platform, setPlatform] = useState("");
  const [referrers, setReferrers] = useState(false);
  useEffect(() => setSource(initial), [initial]);
  return (
    <form
      class="copy-form"
      aria-labelledby="copy-title"
      onSubmit={(e) => {
        e.preventDefault();
        startCopy({ source: source.trim(), destination: destination.trim(), platform: platform.trim() || undefined, referrers });
      }}
    >
      <h2 id="copy-title">Copy an image</h2>
      <p class="hint">
        References as the API takes them: <code>store:REPO:TAG</code> for this server's repositories, <code>HOST/REPO:TAG</code> for a registry the server may reach.
      </p>
      <label for="copy-source">Source</label>
      <input id="copy-source" required value={source} onInput={(e) => setSource((e.target as HTMLInputElement).value)} placeholder="store:app:v1" />
      <label for="copy-destination">Destination</label>
      <input id="copy-destination" required value={destination} onInput={(e) => setDestination((e.target as HTMLInputElement).value)} placeholder="store:backup/app:v1" />
      <label for="copy-platform">Platform (optional)</label>
      <input id="copy-platform" value={platform} onInput={(e) => setPlatform((e.target as HTMLInputElement).value)} placeholder="linux/amd64" />
      <label class="check">
        <input type="checkbox" checked={referrers} onChange={(e) => setReferrers((e.target as HTMLInputElement).checked)} /> Copy signatures, SBOMs and attestations too
      </label>
      <button type="submit" class="primary">
        Start copy
      </button>
    </form>
  );
}

function JobView({ job }: { job: Job }) {
  const blobs = [...job.blobs.values()];
  const total = blobs.filter((b) => b.state === "moving" || b.state === "done").reduce((s, b) => s + num(b.desc.size), 0);
  const moved = blobs.reduce((s, b) => s + (b.state === "moving" || b.state === "done" ? b.bytes : 0), 0);
  const r = job.result;
  return (
    <article class={`job ${job.state}`} aria-labelledby={`job-${job.id}`} data-state={job.state}>
      <header>
        <h3 id={`job-${job.id}`}>
          <code>{job.request.source}</code> → <code>{job.request.destination}</code>
        </h3>
        <span class={`badge ${job.state === "done" ? "ok" : job.state === "running" ? "" : "bad"}`} role="status">
          {job.state}
        </span>
        {job.state === "running" && (
          <button type="button" class="small" onClick={() => job.abort.abort()}>
            Cancel
          </button>
        )}
      </header>
      {job.state === "running" && (
        <p>
          <progress max={Math.max(total, 1)} value={moved} aria-label="Bytes copied" /> {size(moved)} of {size(total)}
        </p>
      )}
      {job.error && (
        <p class="error" role="alert">
          {job.error}
        </p>
      )}
      {r && (
        <p class="result">
          Copied <code title={r.digest}>{short(r.digest)}</code>: {count(r.blobsCopied)} blobs sent, {count(r.blobsSkipped)} present, {count(r.blobsMounted)} mounted,{" "}
          {count(r.manifestsCopied)} manifests, {size(r.bytes)}
          {r.referrers ? `, ${count(r.referrers)} referrers` : ""}.
        </p>
      )}
      <details open={job.state === "running"}>
        <summary>
          {count(blobs.length)} blobs, {count(job.manifests.length)} manifests
        </summary>
        <ul class="blobs">
          {blobs.map((b) => (
            <li key={b.desc.digest}>
              <code title={b.desc.digest}>{short(b.desc.digest)}</code> <span class="muted">{b.desc.mediaType.split(".").pop()}</span>{" "}
              {b.state === "moving" ? (
                <>
                  <progress max={Math.max(num(b.desc.size), 1)} value={b.bytes} aria-label={`Blob ${short(b.desc.digest)}`} /> {size(b.bytes)} / {size(b.desc.size)}
                </>
              ) : (
                <span>
                  {b.state} ({size(b.desc.size)})
                </span>
              )}
            </li>
          ))}
          {job.manifests.map((m) => (
            <li key={m.desc.digest}>
              <code title={m.desc.digest}>{short(m.desc.digest)}</code> <span class="muted">{m.desc.platform ? fmtPlatform(m.desc.platform) : m.desc.mediaType.split(".").slice(-2, -1)[0]}</span>{" "}
              {m.skipped ? "present" : "pushed"}
            </li>
          ))}
        </ul>
      </details>
    </article>
  );
}
