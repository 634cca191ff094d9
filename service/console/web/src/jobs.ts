// Jobs the console follows live: today the copies this tab started (the
// Copy RPC's progress stream). They outlive page changes, not the tab.
//
// A kind of job is what its RPC streams. Sync (mirror) jobs and retention
// runs the server schedules will be further kinds once the API can list
// them and stream their progress: a loader that turns their stream into
// Job updates, and a view in pages/activity.tsx.

import { stream } from "./api";
import { num } from "./format";
import type { CopyEvent, CopyResult, Descriptor } from "./types";
import { message } from "./ui";

/** BlobProgress is one blob of a copy. */
export interface BlobProgress {
  desc: Descriptor;
  bytes: number;
  state: "moving" | "done" | "skipped" | "mounted";
}

/** CopyRequest is the part of the Copy RPC's request the form sets. */
export interface CopyRequest {
  source: string;
  destination: string;
  platform?: string;
  referrers?: boolean;
}

/** Job is one copy and what its stream has said so far. */
export interface Job {
  id: number;
  kind: "copy";
  request: CopyRequest;
  started: Date;
  state: "running" | "done" | "failed" | "cancelled";
  blobs: Map<string, BlobProgress>;
  manifests: { desc: Descriptor; skipped: boolean }[];
  result?: CopyResult;
  error?: string;
  abort: AbortController;
}

const jobs: Job[] = [];
let listeners: (() => void)[] = [];
let scheduled = false;
let nextId = 1;

/** allJobs lists the tab's jobs, newest first. */
export function allJobs(): Job[] {
  return jobs;
}

/** onJobs calls f (at most once a frame) when a job changes. */
export function onJobs(f: () => void): () => void {
  listeners.push(f);
  return () => {
    listeners = listeners.filter((l) => l !== f);
  };
}

function changed() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    listeners.forEach((l) => l());
  });
}

/** startCopy runs a copy on the server and follows its progress. */
export function startCopy(req: CopyRequest): Job {
  const job: Job = { id: nextId++, kind: "copy", request: req, started: new Date(), state: "running", blobs: new Map(), manifests: [], abort: new AbortController() };
  jobs.unshift(job);
  changed();
  (async () => {
    try {
      for await (const ev of stream<CopyEvent>("/v1/copy", { method: "POST", body: req, signal: job.abort.signal })) {
        apply(job, ev);
        changed();
      }
      if (job.state === "running") job.state = job.result ? "done" : "failed";
      if (!job.result && !job.error) job.error = "the stream ended without a result";
    } catch (e) {
      job.state = job.abort.signal.aborted ? "cancelled" : "failed";
      job.error = job.abort.signal.aborted ? "cancelled in the console (the server stops the copy)" : message(e);
    }
    changed();
  })();
  return job;
}

function apply(job: Job, ev: CopyEvent) {
  const d = ev.descriptor;
  const blob = (state: BlobProgress["state"], bytes: number) => d && job.blobs.set(d.digest, { desc: d, bytes, state });
  switch (ev.kind) {
    case "COPY_EVENT_KIND_BLOB_STARTED":
      blob("moving", 0);
      break;
    case "COPY_EVENT_KIND_BLOB_BYTES":
      blob("moving", num(ev.bytes));
      break;
    case "COPY_EVENT_KIND_BLOB_DONE":
      blob("done", d ? num(d.size) : 0);
      break;
    case "COPY_EVENT_KIND_BLOB_SKIPPED":
      blob("skipped", 0);
      break;
    case "COPY_EVENT_KIND_BLOB_MOUNTED":
      blob("mounted", 0);
      break;
    case "COPY_EVENT_KIND_IMAGE_DONE":
    case "COPY_EVENT_KIND_IMAGE_SKIPPED":
      if (d) job.manifests.push({ desc: d, skipped: ev.kind === "COPY_EVENT_KIND_IMAGE_SKIPPED" });
      break;
    case "COPY_EVENT_KIND_RESULT":
      job.result = ev.result ?? undefined;
      job.state = "done";
      break;
  }
}
