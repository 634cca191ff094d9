// One image: what it is (overview, manifest, config), what it is made of
// (layers and their sizes, history, files) and what refers to it
// (signatures, attestations, SBOMs), with pull commands beside it.

import { useState } from "preact/hooks";
import { bytes, get, readBlob, save, text } from "../api";
import { count, date, num, platform as fmtPlatform, short, size } from "../format";
import { storeRef } from "../refs";
import { go, href, type Route } from "../router";
import type { ConsoleConfig, Descriptor, GetManifestResponse, HistoryResponse, InspectResponse, ListTagsResponse, SizeResponse } from "../types";
import { BarChart, Digest, Field, Json, Legend, Show, Toggle, useAsync } from "../ui";
import { FilesTab } from "./files";
import { ReferrersTab } from "./referrers";
import { Snippets } from "./snippets";

const tabs: [string, string][] = [
  ["overview", "Overview"],
  ["manifest", "Manifest"],
  ["config", "Config"],
  ["layers", "Layers"],
  ["history", "History"],
  ["files", "Files"],
  ["referrers", "Referrers"],
];

/** maxShown bounds a manifest or config the console shows inline; larger ones are offered as a download. */
export const maxShown = 1 << 20;

/** Image is what every tab needs: the repository, the reference, the inspection. */
export interface Image {
  cfg: ConsoleConfig;
  name: string;
  reference: string;
  platform: string;
  inspect: InspectResponse;
  /** manifestRef names the image manifest the tabs describe (the platform's, for an index). */
  manifestRef: string;
}

export function ImagePage({ cfg, name, reference, tab, route }: { cfg: ConsoleConfig; name: string; reference: string; tab: string; route: Route }) {
  const platform = route.query.get("platform") ?? "";
  const inspect = useAsync((signal) => get<InspectResponse>("/v1/images:inspect", { ref: storeRef(name, reference), platform }, signal), [name, reference, platform]);
  const link = (t: string, q?: Record<string, string | undefined>) => href(["i", name, reference, t], { platform: platform || undefined, ...q });
  const title = reference.includes(":") ? `${name}@${short(reference)}` : `${name}:${reference}`;

  return (
    <section class="image">
      <p class="crumbs">
        <a href={href([])}>Repositories</a> / <a href={href(["r", name])}>{name}</a> /
      </p>
      <h1 tabIndex={-1}>{title}</h1>
      <Show a={inspect} what="Inspecting">
        {(i) => {
          const img: Image = { cfg, name, reference, platform, inspect: i, manifestRef: i.manifestDigest ? storeRef(name, i.manifestDigest) : "" };
          return (
            <>
              <dl class="facts">
                <Field name="Digest">
                  <Digest value={i.digest} />
                </Field>
                <Field name="Media type">
                  <code>{i.mediaType}</code>
                </Field>
                <Field name="Artifact type">{i.artifactType && <code>{i.artifactType}</code>}</Field>
              </dl>
              {i.platforms.length > 0 && (
                <div class="platforms">
                  <label for="platform">Platform</label>
                  <select id="platform" value={platform || fmtPlatform(i.config ? { os: i.config.os, architecture: i.config.architecture, variant: i.config.variant } : null)} onChange={(e) => go(link(tab, { platform: (e.target as HTMLSelectElement).value }))}>
                    {!i.manifestDigest && <option value="">choose one</option>}
                    {i.platforms.map((p) => (
                      <option key={fmtPlatform(p)} value={fmtPlatform(p)}>
                        {fmtPlatform(p)}
                      </option>
                    ))}
                  </select>
                </div>
              )}
              <div class="with-aside">
                <div class="main-col">
                  <nav class="tabs" aria-label="Image">
                    <ul>
                      {tabs.map(([k, label]) => (
                        <li key={k}>
                          <a href={link(k)} aria-current={tab === k ? "page" : undefined}>
                            {label}
                          </a>
                        </li>
                      ))}
                    </ul>
                  </nav>
                  <div class="tab">
                    <Tab img={img} tab={tab} route={route} />
                  </div>
                </div>
                <Snippets cfg={cfg} repo={name} reference={reference} />
              </div>
            </>
          );
        }}
      </Show>
    </section>
  );
}

function Tab({ img, tab, route }: { img: Image; tab: string; route: Route }) {
  const needManifest = ["config", "layers", "history", "files"].includes(tab);
  if (needManifest && !img.manifestRef) return <p>This index has no entry for the server's platform: choose a platform above.</p>;
  switch (tab) {
    case "overview":
      return <Overview img={img} />;
    case "manifest":
      return <ManifestTab img={img} />;
    case "config":
      return <ConfigTab img={img} />;
    case "layers":
      return <LayersTab img={img} />;
    case "history":
      return <HistoryTab img={img} />;
    case "files":
      return <FilesTab img={img} route={route} />;
    case "referrers":
      return <ReferrersTab img={img} />;
  }
  return <p>No such tab.</p>;
}

function Overview({ img }: { img: Image }) {
  const { inspect: i, name } = img;
  const c = i.config;
  const total = i.layers.reduce((s, l) => s + num(l.size), 0);
  return (
    <>
      <h2>Overview</h2>
      {i.platforms.length > 0 && <PlatformTable img={img} />}
      {i.manifestDigest && i.manifestDigest !== i.digest && (
        <p>
          Described below: <a href={href(["i", name, i.manifestDigest])}>{c ? fmtPlatform({ os: c.os, architecture: c.architecture, variant: c.variant }) : short(i.manifestDigest)}</a> (
          <code>{short(i.manifestDigest)}</code>)
        </p>
      )}
      <dl class="facts">
        <Field name="Layers">{i.manifestDigest ? `${i.layers.length} (${size(total)} compressed)` : ""}</Field>
        {c && (
          <>
            <Field name="Created">{date(c.created)}</Field>
            <Field name="Platform">{fmtPlatform({ os: c.os, architecture: c.architecture, variant: c.variant })}</Field>
            <Field name="Author">{c.author}</Field>
            <Field name="User">{c.user}</Field>
            <Field name="Entrypoint">{c.entrypoint.length > 0 && <code>{JSON.stringify(c.entrypoint)}</code>}</Field>
            <Field name="Cmd">{c.cmd.length > 0 && <code>{JSON.stringify(c.cmd)}</code>}</Field>
            <Field name="Working dir">{c.workingDir && <code>{c.workingDir}</code>}</Field>
            <Field name="Ports">{c.exposedPorts.join(", ")}</Field>
            <Field name="Environment">
              {c.env.length > 0 && (
                <ul class="plain">
                  {c.env.map((e) => (
                    <li key={e}>
                      <code>{e}</code>
                    </li>
                  ))}
                </ul>
              )}
            </Field>
            <Field name="Labels">{Object.keys(c.labels).length > 0 && <KeyValues m={c.labels} />}</Field>
          </>
        )}
        <Field name="Annotations">{Object.keys(i.annotations).length > 0 && <KeyValues m={i.annotations} />}</Field>
      </dl>
    </>
  );
}

function KeyValues({ m }: { m: Record<string, string> }) {
  return (
    <ul class="plain">
      {Object.entries(m).map(([k, v]) => (
        <li key={k}>
          <code>{k}</code> = <code>{v}</code>
        </li>
      ))}
    </ul>
  );
}

/** PlatformTable lists an index's entries, from its raw manifest. */
function PlatformTable({ img }: { img: Image }) {
  const m = useAsync((signal) => get<GetManifestResponse>("/v1/manifests", { ref: storeRef(img.name, img.inspect.digest) }, signal), [img.inspect.digest]);
  return (
    <Show a={m} what="Loading the index">
      {(d) => {
        const idx = JSON.parse(text([bytes(d.raw)])) as { manifests?: Descriptor[] };
        return (
          <div class="table-wrap">
            <table class="platform-table">
              <caption>Platforms of this index</caption>
              <thead>
                <tr>
                  <th scope="col">Platform</th>
                  <th scope="col">Manifest</th>
                  <th scope="col" class="num">
                    Size
                  </th>
                </tr>
              </thead>
              <tbody>
                {(idx.manifests ?? []).map((e) => (
                  <tr key={e.digest}>
                    <th scope="row">{fmtPlatform(e.platform) || e.artifactType || "—"}</th>
                    <td>
                      <a href={href(["i", img.name, e.digest])}>
                        <code>{short(e.digest)}</code>
                      </a>
                    </td>
                    <td class="num">{size(e.size)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        );
      }}
    </Show>
  );
}

/** Manifest is a raw manifest and its decoded JSON. */
interface Manifest {
  digest: string;
  mediaType: string;
  raw: string;
  json: {
    mediaType?: string;
    config?: Descriptor;
    layers?: Descriptor[];
    manifests?: Descriptor[];
    subject?: Descriptor;
    annotations?: Record<string, string>;
    artifactType?: string;
  };
}

async function manifest(ref: string, signal?: AbortSignal): Promise<Manifest> {
  const r = await get<GetManifestResponse>("/v1/manifests", { ref }, signal);
  const raw = text([bytes(r.raw)]);
  return { digest: r.digest, mediaType: r.mediaType, raw, json: JSON.parse(raw) };
}

function ManifestTab({ img }: { img: Image }) {
  const [view, setView] = useState<"readable" | "raw">("readable");
  const top = useAsync((signal) => manifest(storeRef(img.name, img.inspect.digest), signal), [img.inspect.digest]);
  const platformRef = img.inspect.manifestDigest && img.inspect.manifestDigest !== img.inspect.digest ? img.manifestRef : "";
  const inner = useAsync((signal) => (platformRef ? manifest(platformRef, signal) : Promise.resolve(undefined)), [platformRef]);
  return (
    <>
      <h2>Manifest</h2>
      <Toggle
        label="Manifest view"
        value={view}
        onChange={setView}
        options={[
          ["readable", "Readable"],
          ["raw", "Raw"],
        ]}
      />
      <Show a={top} what="Loading the manifest">
        {(m) => <ManifestView m={m} view={view} name={img.name} />}
      </Show>
      {platformRef && (
        <>
          <h3>Manifest of {img.inspect.config ? fmtPlatform({ os: img.inspect.config.os, architecture: img.inspect.config.architecture, variant: img.inspect.config.variant }) : "the platform"}</h3>
          <Show a={inner} what="Loading the platform's manifest">
            {(m) => (m ? <ManifestView m={m} view={view} name={img.name} /> : null)}
          </Show>
        </>
      )}
    </>
  );
}

function ManifestView({ m, view, name }: { m: Manifest; view: "readable" | "raw"; name: string }) {
  if (view === "raw")
    return (
      <pre class="code raw" tabIndex={0} aria-label={`Manifest ${m.digest}, exactly as stored`}>
        {m.raw}
      </pre>
    );
  const j = m.json;
  return (
    <>
      <dl class="facts">
        <Field name="Digest">
          <Digest value={m.digest} />
        </Field>
        <Field name="Media type">
          <code>{j.mediaType ?? m.mediaType}</code>
        </Field>
        <Field name="Artifact type">{j.artifactType && <code>{j.artifactType}</code>}</Field>
        <Field name="Size">{`${count(m.raw.length)} bytes`}</Field>
        <Field name="Subject">{j.subject && <a href={href(["i", name, j.subject.digest])}>{short(j.subject.digest)}</a>}</Field>
        <Field name="Annotations">{j.annotations && Object.keys(j.annotations).length > 0 && <KeyValues m={j.annotations} />}</Field>
      </dl>
      {j.config && <DescriptorTable caption="Config" rows={[j.config]} name={name} />}
      {j.layers && <DescriptorTable caption="Layers" rows={j.layers} name={name} />}
      {j.manifests && <DescriptorTable caption="Manifests" rows={j.manifests} name={name} link />}
    </>
  );
}

function DescriptorTable({ caption, rows, name, link }: { caption: string; rows: Descriptor[]; name: string; link?: boolean }) {
  return (
    <div class="table-wrap">
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Digest</th>
            <th scope="col">Media type</th>
            <th scope="col" class="num">
              Size
            </th>
            {link && <th scope="col">Platform</th>}
          </tr>
        </thead>
        <tbody>
          {rows.map((d, i) => (
            <tr key={d.digest + i}>
              <td>{link ? <a href={href(["i", name, d.digest])}>{short(d.digest)}</a> : <code title={d.digest}>{short(d.digest)}</code>}</td>
              <td>
                <code>{d.mediaType}</code>
              </td>
              <td class="num">{size(d.size)}</td>
              {link && <td>{fmtPlatform(d.platform)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ConfigTab({ img }: { img: Image }) {
  const [view, setView] = useState<"readable" | "json" | "raw">("readable");
  const cfg = useAsync(
    async (signal) => {
      const m = await manifest(img.manifestRef, signal);
      const d = m.json.config;
      if (!d) return { desc: undefined, raw: "" };
      if (num(d.size) > maxShown) return { desc: d, raw: "" };
      return { desc: d, raw: text(await readBlob(img.name, d.digest, undefined, signal)) };
    },
    [img.manifestRef],
  );
  return (
    <>
      <h2>Config</h2>
      <Show a={cfg} what="Loading the config">
        {({ desc, raw }) => {
          if (!desc) return <p>This manifest has no config.</p>;
          if (!raw)
            return (
              <p>
                The config is {size(desc.size)}, too large to show.{" "}
                <button type="button" onClick={async () => save(await readBlob(img.name, desc.digest), `${desc.digest.replace(":", "-")}.json`, "application/json")}>
                  Download it
                </button>
              </p>
            );
          let parsed: unknown;
          try {
            parsed = JSON.parse(raw);
          } catch {
            parsed = undefined;
          }
          return (
            <>
              <dl class="facts">
                <Field name="Digest">
                  <Digest value={desc.digest} />
                </Field>
                <Field name="Media type">
                  <code>{desc.mediaType}</code>
                </Field>
              </dl>
              <Toggle
                label="Config view"
                value={view}
                onChange={setView}
                options={[
                  ["readable", "Readable"],
                  ["json", "JSON"],
                  ["raw", "Raw"],
                ]}
              />
              {view === "raw" || parsed === undefined ? (
                <pre class="code raw" tabIndex={0} aria-label="Config, exactly as stored">
                  {raw}
                </pre>
              ) : view === "json" ? (
                <Json value={parsed} label="Config as formatted JSON" />
              ) : (
                <ReadableConfig c={parsed as ConfigDoc} />
              )}
            </>
          );
        }}
      </Show>
    </>
  );
}

interface ConfigDoc {
  created?: string;
  architecture?: string;
  os?: string;
  config?: Record<string, unknown>;
  rootfs?: { type?: string; diff_ids?: string[] };
  history?: unknown[];
}

function ReadableConfig({ c }: { c: ConfigDoc }) {
  const rest = c.config ?? {};
  return (
    <dl class="facts">
      <Field name="Created">{date(c.created)}</Field>
      <Field name="Platform">{[c.os, c.architecture].filter(Boolean).join("/")}</Field>
      {Object.entries(rest).map(([k, v]) => (
        <Field key={k} name={k}>
          <code>{typeof v === "string" ? v : JSON.stringify(v)}</code>
        </Field>
      ))}
      <Field name="Layers (diff_ids)">
        {c.rootfs?.diff_ids && (
          <ol class="plain">
            {c.rootfs.diff_ids.map((d, i) => (
              <li key={d + i}>
                <code title={d}>{short(d)}</code>
              </li>
            ))}
          </ol>
        )}
      </Field>
      <Field name="History entries">{c.history ? String(c.history.length) : ""}</Field>
    </dl>
  );
}

function LayersTab({ img }: { img: Image }) {
  const sz = useAsync((signal) => get<SizeResponse>("/v1/images:size", { ref: img.manifestRef }, signal), [img.manifestRef]);
  return (
    <>
      <h2>Layers</h2>
      <Show a={sz} what="Measuring the layers (every layer is read on the server)">
        {(s) => (
          <>
            <dl class="facts totals">
              <Field name="Compressed">{size(s.compressed)}</Field>
              <Field name="Uncompressed">{size(s.uncompressed)}</Field>
              <Field name="Wasted">
                {size(s.wasted)}
                {num(s.uncompressed) > 0 && ` (${((num(s.wasted) / num(s.uncompressed)) * 100).toFixed(1)}% of uncompressed)`}
              </Field>
            </dl>
            <Legend
              items={[
                { class: "s-compressed", label: "compressed" },
                { class: "s-uncompressed", label: "uncompressed" },
                { class: "s-wasted", label: "wasted (overwritten or deleted by a later layer)" },
              ]}
            />
            <BarChart
              caption="Layer sizes, base first"
              format={size}
              rows={s.layers.map((l) => ({
                label: `#${l.layer} ${short(l.digest)}`,
                bars: [
                  { value: num(l.compressed), class: "s-compressed", label: "compressed" },
                  { value: num(l.uncompressed), class: "s-uncompressed", label: "uncompressed" },
                  { value: num(l.wasted), class: "s-wasted", label: "wasted" },
                ],
              }))}
            />
            <div class="table-wrap">
              <table class="layers">
                <caption>Layers</caption>
                <thead>
                  <tr>
                    <th scope="col">#</th>
                    <th scope="col">Digest</th>
                    <th scope="col" class="num">
                      Compressed
                    </th>
                    <th scope="col" class="num">
                      Uncompressed
                    </th>
                    <th scope="col" class="num">
                      Files
                    </th>
                    <th scope="col" class="num">
                      Wasted
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {s.layers.map((l) => (
                    <tr key={l.layer} data-layer={l.layer} data-compressed={num(l.compressed)} data-uncompressed={num(l.uncompressed)} data-wasted={num(l.wasted)}>
                      <td>{l.layer}</td>
                      <td>
                        <code title={`${l.digest} ${l.mediaType}`}>{short(l.digest)}</code>
                      </td>
                      <td class="num">{size(l.compressed)}</td>
                      <td class="num">{size(l.uncompressed)}</td>
                      <td class="num">{count(l.files)}</td>
                      <td class="num">{size(l.wasted)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        )}
      </Show>
    </>
  );
}

function HistoryTab({ img }: { img: Image }) {
  const h = useAsync((signal) => get<HistoryResponse>("/v1/images:history", { ref: img.manifestRef }, signal), [img.manifestRef]);
  return (
    <>
      <h2>History</h2>
      <Show a={h} what="Loading the history">
        {(d) =>
          d.entries.length === 0 ? (
            <p>The config records no history.</p>
          ) : (
            <div class="table-wrap">
              <table class="history">
                <caption>History, oldest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Created</th>
                    <th scope="col">Created by</th>
                    <th scope="col">Layer</th>
                    <th scope="col" class="num">
                      Size
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {d.entries.map((e, i) => (
                    <tr key={i}>
                      <td>{date(e.created)}</td>
                      <td>
                        <code class="wrap">{e.createdBy}</code>
                        {e.comment && <div class="muted">{e.comment}</div>}
                      </td>
                      <td>{e.emptyLayer || e.layer < 0 ? <span class="muted">empty</span> : <code title={e.digest}>#{e.layer}</code>}</td>
                      <td class="num">{e.emptyLayer || e.layer < 0 ? "" : size(e.size)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Show>
    </>
  );
}

/** useTags lists a repository's tags, for the diff picker. */
export function useTags(name: string) {
  return useAsync((signal) => get<ListTagsResponse>("/v1/tags", { repository: `store:${name}` }, signal), [name]);
}
