// The thin client over the generated Connect-ES code (src/gen), speaking
// native gRPC (HTTP/2) to `stevedore serve --grpc-addr`.
import { createHash } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, createClient as createConnectClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { basename } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  CopyEventKind,
  ImageService,
  type CopyResponse,
  type DeleteRepositoryResponse,
  type Descriptor,
  type DiffResponse,
  type FileInfo,
  type GetManifestResponse,
  type GetSyncStatusResponse,
  type HistoryEntry,
  type InspectResponse,
  type MirrorResponse,
  type MutateRequestSchema,
  type PushArtifactRequestSchema,
  type ReferrerNode,
  type RepositoryInfo,
  type RunGCResponse,
  type RunRetentionResponse,
  type RunSyncNowResponse,
  type SizeResponse,
  type StorageUsageResponse,
  type SyncJob,
  type ValidateResponse,
  type WriteResult,
} from "./gen/stevedore/v1/image_service_pb.js";
import {
  SignService,
  type AttestRequestSchema,
  type AttestResponse,
  type GenerateKeyPairResponse,
  type SignRequestSchema,
  type SignResponse,
  type TreeResponse,
  type VerifyAttestationRequestSchema,
  type VerifyAttestationResponse,
  type VerifyRequestSchema,
  type VerifyResponse,
} from "./gen/stevedore/v1/sign_service_pb.js";
import { PullFile, writeChunks } from "./artifact.js";
import { DataLossError, InvalidArgumentError, StevedoreError, UnavailableError, toStevedoreError } from "./errors.js";

/** What pullArtifact wrote. */
export interface PulledArtifact {
  /** The artifact manifest's descriptor. */
  manifest?: Descriptor;
  /** Paths written, in stream order; a directory layer as NAME.tar.gz, not unpacked. */
  files: string[];
  /** Layers without a title, not written. */
  skipped: Descriptor[];
}

/** Each PushArtifact data message: the server's own chunk size, well under the message limit. */
const CHUNK = 1 << 20;

/**
 * The receive limit: a manifest may reach the server's 4 MiB bound, which
 * with framing overflows gRPC's usual 4 MiB (service.MaxMessageSize).
 */
export const MAX_MESSAGE_SIZE = 8 << 20;

/** Options of createClient. */
export interface ClientOptions {
  /** Interceptors for every call (auth headers, logging, tests). */
  interceptors?: Interceptor[];
  /** Deadline of each unary call in milliseconds; none by default. */
  timeoutMs?: number;
  /** Resume policy of getBlob: consecutive failed attempts before giving up (default 5). */
  maxFailures?: number;
  /** Wait before the 2nd consecutive attempt, doubled each time up to 2 s (default 100 ms). */
  firstBackoffMs?: number;
}

/** Options of getBlob. */
export interface GetBlobOptions {
  /** First byte to read (default 0). */
  offset?: bigint | number;
  /** Cancels the stream. */
  signal?: AbortSignal;
}

/** Options of copy. */
export interface CopyOptions {
  /** Copies only this manifest of an index (`os/arch[/variant]`); by default the whole index. */
  platform?: string;
  /** Blobs the server transfers at once, 1 to 64; 0 (the default) means 4. */
  concurrency?: number;
  /** Cancels the copy, on the server too. */
  signal?: AbortSignal;
}

/**
 * Returns a client for the gRPC server at baseUrl, e.g. `http://127.0.0.1:9090`
 * (h2c) or `https://host:port`.
 */
export function createClient(baseUrl: string, options: ClientOptions = {}): StevedoreClient {
  return new StevedoreClient(baseUrl, options);
}

/** A client of stevedore.v1.ImageService. Every method throws StevedoreError subclasses. */
export class StevedoreClient {
  /** The generated Connect client, for calls this class does not wrap (raw ConnectErrors). */
  readonly raw: Client<typeof ImageService>;
  /** The generated SignService client, likewise. */
  readonly rawSign: Client<typeof SignService>;
  private readonly options: Required<Omit<ClientOptions, "interceptors" | "timeoutMs">> & { timeoutMs?: number };

  constructor(baseUrl: string, options: ClientOptions = {}) {
    const transport = createGrpcTransport({
      baseUrl,
      interceptors: options.interceptors,
      readMaxBytes: MAX_MESSAGE_SIZE,
    });
    this.raw = createConnectClient(ImageService, transport);
    this.rawSign = createConnectClient(SignService, transport);
    this.options = {
      maxFailures: options.maxFailures ?? 5,
      firstBackoffMs: options.firstBackoffMs ?? 100,
      timeoutMs: options.timeoutMs,
    };
  }

  /**
   * Describes the image ref names (`HOST/REPO:TAG`, `docker://...`, `oci:/DIR:TAG`).
   * platform (`os/arch[/variant]`) picks an entry of an index; by default
   * linux on the server's architecture.
   */
  async inspect(ref: string, platform = ""): Promise<InspectResponse> {
    return this.unary(() => this.raw.inspect({ ref, platform }, { timeoutMs: this.options.timeoutMs }));
  }

  /** Returns the manifest or index ref names, `raw` byte for byte as stored. */
  async getManifest(ref: string): Promise<GetManifestResponse> {
    return this.unary(() => this.raw.getManifest({ ref }, { timeoutMs: this.options.timeoutMs }));
  }

  /** Lists the tags of a repository (`HOST/REPO`) or layout (`oci:/DIR`). */
  async listTags(repository: string): Promise<string[]> {
    const resp = await this.unary(() => this.raw.listTags({ repository }, { timeoutMs: this.options.timeoutMs }));
    return resp.tags;
  }

  /**
   * Yields the blob ref (`REPO@sha256:...`) names, chunk by chunk (at most
   * 1 MiB each), re-opening a dropped stream (Unavailable, or an end before
   * the blob's size) at the first byte not yet received. The bytes are not
   * verified here; downloadBlob does that.
   */
  async *getBlob(ref: string, options: GetBlobOptions = {}): AsyncGenerator<Uint8Array, void, undefined> {
    let offset = BigInt(options.offset ?? 0);
    let size = -1n;
    let failures = 0;
    for (;;) {
      let err: StevedoreError;
      try {
        for await (const msg of this.raw.getBlob({ ref, offset }, { signal: options.signal })) {
          if (size < 0n && msg.size > 0n) {
            size = msg.size;
          }
          if (msg.offset !== offset) {
            throw new InvalidArgumentError(`GetBlob ${ref}: chunk at offset ${msg.offset}, want ${offset}`, Code.InvalidArgument);
          }
          if (msg.data.length > 0) {
            failures = 0;
            offset += BigInt(msg.data.length);
            yield msg.data;
          }
        }
        if (size < 0n || offset >= size) {
          return;
        }
        err = new UnavailableError(`GetBlob ${ref}: stream ended at byte ${offset} of ${size}`, Code.Unavailable);
      } catch (e) {
        err = toStevedoreError(e);
      }
      // Only Unavailable -- a lost connection or a server going away -- is
      // worth another attempt; the caller's abort never is.
      if (!(err instanceof UnavailableError) || options.signal?.aborted || failures >= this.options.maxFailures) {
        throw err;
      }
      if (failures > 0) {
        await sleep(Math.min(this.options.firstBackoffMs * 2 ** (failures - 1), 2000), undefined, { signal: options.signal });
      }
      failures++;
    }
  }

  /**
   * Streams the blob ref (`REPO@sha256:...` or `@sha512:`) names to path and
   * returns its size. The bytes are hashed as they arrive and path appears
   * only once they match the digest (written as `path + ".part"`, then
   * renamed), so it never holds partial or corrupt content.
   */
  async downloadBlob(ref: string, path: string, options: { signal?: AbortSignal } = {}): Promise<number> {
    const m = /@(sha256|sha512):([0-9a-f]+)$/.exec(ref);
    if (!m) {
      throw new InvalidArgumentError(`blob reference ${ref} names no sha256/sha512 digest (REPO@sha256:...)`, Code.InvalidArgument, "DIGEST_INVALID");
    }
    const [, algorithm, expected] = m;
    const hash = createHash(algorithm);
    const part = path + ".part";
    let n = 0;
    const file = await open(part, "w");
    try {
      try {
        for await (const chunk of this.getBlob(ref, options)) {
          hash.update(chunk);
          await file.write(chunk);
          n += chunk.length;
        }
        await file.sync();
      } finally {
        await file.close();
      }
      const got = hash.digest("hex");
      if (got !== expected) {
        throw new DataLossError(`blob ${ref}: ${n} bytes hash to ${algorithm}:${got}`, Code.DataLoss, "DIGEST_INVALID");
      }
      await rename(part, path);
    } catch (e) {
      await rm(part, { force: true });
      throw e;
    }
    return n;
  }

  /**
   * Copies source to destination on the server (registry references such as
   * `HOST/REPO:TAG`, or `oci:/DIR[:TAG]` layouts on the server), yielding each
   * progress event as it happens. The last event has
   * `kind === CopyEventKind.RESULT`, and its `result.digest` equals the
   * source's. Failures throw StevedoreError subclasses (NotFoundError for a
   * missing source); a stream that ends without a result throws
   * UnavailableError, as the copy may not have finished (copying again is
   * cheap: what the destination has is skipped). Leaving the loop early
   * cancels the copy.
   */
  async *copy(source: string, destination: string, options: CopyOptions = {}): AsyncGenerator<CopyResponse, void, undefined> {
    const request = { source, destination, platform: options.platform ?? "", concurrency: Math.max(options.concurrency ?? 0, 0) };
    try {
      for await (const ev of this.raw.copy(request, { signal: options.signal })) {
        yield ev;
        if (ev.kind === CopyEventKind.RESULT) {
          return;
        }
      }
    } catch (e) {
      throw toStevedoreError(e);
    }
    throw new UnavailableError(`copy ${source} to ${destination}: stream ended without a result`, Code.Unavailable);
  }

  // --- SignService: keys stay on the server; send passwords over TLS only. ---

  /** Creates an ECDSA P-256 key pair in the server's key directory; returns its id and public key PEM. */
  async generateKeyPair(keyId: string, password: string): Promise<GenerateKeyPairResponse> {
    return this.unary(() => this.rawSign.generateKeyPair({ keyId, password }, this.callOptions()));
  }

  /** Signs the digest req.ref resolves to with a server key, in cosign's formats. */
  async sign(req: MessageInitShape<typeof SignRequestSchema>): Promise<SignResponse> {
    return this.unary(() => this.rawSign.sign(req, this.callOptions()));
  }

  /**
   * Checks req.ref's signatures against the trusted keys, or, for keyless and
   * certificate signatures, req.certificateIdentities and req.certificateTrust
   * (cosign's --certificate-* flags and --trusted-root), or, for Notary
   * Project signatures, req.notationTrust (notation's trust policy and trust
   * store). A failed check is `verified: false` with a finding per signature (`check` names what
   * failed); errors mean it could not run.
   */
  async verify(req: MessageInitShape<typeof VerifyRequestSchema>): Promise<VerifyResponse> {
    return this.unary(() => this.rawSign.verify(req, this.callOptions()));
  }

  /** Signs an in-toto statement carrying req.predicate (JSON text). */
  async attest(req: MessageInitShape<typeof AttestRequestSchema>): Promise<AttestResponse> {
    return this.unary(() => this.rawSign.attest(req, this.callOptions()));
  }

  /** verify for attestations of req.predicateType. */
  async verifyAttestation(req: MessageInitShape<typeof VerifyAttestationRequestSchema>): Promise<VerifyAttestationResponse> {
    return this.unary(() => this.rawSign.verifyAttestation(req, this.callOptions()));
  }

  /** What is attached to ref, by kind; nothing is verified. */
  async tree(ref: string): Promise<TreeResponse> {
    return this.unary(() => this.rawSign.tree({ ref }, this.callOptions()));
  }

  // --- Analyze (image-spec v1.1.1 layer.md) ---

  /** Yields the files of ref's merged root filesystem in path order, or with layer those of one layer. */
  async *listFiles(ref: string, options: { platform?: string; layer?: number; signal?: AbortSignal } = {}): AsyncGenerator<FileInfo, void, undefined> {
    const req = { ref, platform: options.platform ?? "", layer: options.layer };
    for await (const batch of this.stream(this.raw.listFiles(req, { signal: options.signal }))) {
      yield* batch.files;
    }
  }

  /** Writes the regular file path of ref's merged filesystem to out (a file path); returns its size. */
  async readFile(ref: string, path: string, out: string, platform = ""): Promise<number> {
    return writeChunks(this.stream(this.raw.readFile({ ref, path, platform })), out);
  }

  /** Writes ref's merged root filesystem to out as one tar (what `crane export` writes); returns its size. */
  async export(ref: string, out: string, platform = ""): Promise<number> {
    return writeChunks(this.stream(this.raw.export({ ref, platform })), out);
  }

  /** Checks every descriptor, size, digest and diff_id; problems are in the response, not thrown. */
  async validate(ref: string): Promise<ValidateResponse> {
    return this.unary(() => this.raw.validate({ ref }, this.callOptions()));
  }

  /** Compares the configs and merged filesystems of two images. */
  async diff(ref: string, otherRef: string, platform = ""): Promise<DiffResponse> {
    return this.unary(() => this.raw.diff({ ref, otherRef, platform }, this.callOptions()));
  }

  /** Compressed, uncompressed and wasted bytes, per layer and in total. */
  async size(ref: string, platform = ""): Promise<SizeResponse> {
    return this.unary(() => this.raw.size({ ref, platform }, this.callOptions()));
  }

  /** The config's history, each entry with the layer it made. */
  async history(ref: string, platform = ""): Promise<HistoryEntry[]> {
    return (await this.unary(() => this.raw.history({ ref, platform }, this.callOptions()))).entries;
  }

  // --- Modify: every write is a new manifest; the source stays valid. ---

  /** Writes a new image from req.ref with the edits asked for; returns the result with its new digest. */
  async mutate(req: MessageInitShape<typeof MutateRequestSchema>): Promise<WriteResult | undefined> {
    return (await this.unary(() => this.raw.mutate(req, this.callOptions()))).result;
  }

  /** Points tags, in ref's repository or layout, at its manifest. */
  async tag(ref: string, ...tags: string[]): Promise<WriteResult | undefined> {
    return (await this.unary(() => this.raw.tag({ ref, tags }, this.callOptions()))).result;
  }

  /** Removes the tag ref names; the manifest stays. */
  async untag(ref: string): Promise<void> {
    await this.unary(() => this.raw.untag({ ref }, this.callOptions()));
  }

  /** Runs a mirror configuration (YAML text) on the server: a message per image as it finishes, then the summary. */
  async *mirror(config: string, options: { dryRun?: boolean; concurrency?: number; signal?: AbortSignal } = {}): AsyncGenerator<MirrorResponse, void, undefined> {
    const req = { config, dryRun: options.dryRun ?? false, concurrency: Math.max(options.concurrency ?? 0, 0) };
    yield* this.stream(this.raw.mirror(req, { signal: options.signal }));
  }

  // --- Artifacts (image-spec v1.1.1 manifest.md, artifact usage) ---

  /**
   * Pushes the files at paths as one artifact (a layer per file titled with
   * its base name, as oras does), streamed from disk; returns the manifest's descriptor.
   */
  async pushArtifact(ref: string, paths: string[], options: { artifactType?: string; annotations?: Record<string, string> } = {}): Promise<Descriptor | undefined> {
    async function* requests(): AsyncGenerator<MessageInitShape<typeof PushArtifactRequestSchema>> {
      let first: MessageInitShape<typeof PushArtifactRequestSchema> = { ref, artifactType: options.artifactType ?? "", annotations: options.annotations ?? {} };
      for (const p of paths) {
        const f = await open(p, "r");
        try {
          const mode = (await f.stat()).mode & 0o777;
          let header: MessageInitShape<typeof PushArtifactRequestSchema> = { ...first, file: { name: basename(p), mode } };
          first = {};
          for await (const data of chunksOf(f)) {
            yield { ...header, data };
            header = {};
          }
          if (Object.keys(header).length > 0) {
            yield header; // an empty file: its header alone
          }
        } finally {
          await f.close();
        }
      }
    }
    return (await this.unary(() => this.raw.pushArtifact(requests()))).manifest;
  }

  /**
   * Writes the titled layers of the artifact ref into dir, each verified
   * against its digest before it appears under its name. A title that is
   * absolute or climbs out with `..` throws InvalidArgumentError before
   * anything is written for it.
   */
  async pullArtifact(ref: string, dir: string): Promise<PulledArtifact> {
    const out: PulledArtifact = { files: [], skipped: [] };
    let cur: PullFile | undefined;
    try {
      for await (const msg of this.stream(this.raw.pullArtifact({ ref }))) {
        if (msg.manifest) {
          out.manifest = msg.manifest;
          out.skipped = msg.skipped;
        }
        if (msg.file) {
          await cur?.finish();
          cur = undefined;
          cur = await PullFile.start(dir, msg.file);
          out.files.push(cur.path);
        }
        if (msg.data.length > 0) {
          if (!cur) {
            throw new InvalidArgumentError("artifact data before any file", Code.InvalidArgument);
          }
          await cur.write(msg.offset, msg.data);
        }
      }
      await cur?.finish();
      cur = undefined;
    } finally {
      await cur?.abort();
    }
    return out;
  }

  /** The tree of referrers of the manifest ref names (distribution-spec v1.1.1, listing referrers). */
  async discoverReferrers(ref: string, options: { artifactType?: string; maxDepth?: number } = {}): Promise<ReferrerNode | undefined> {
    const req = { ref, artifactType: options.artifactType ?? "", maxDepth: Math.max(options.maxDepth ?? 0, 0) };
    return (await this.unary(() => this.raw.discoverReferrers(req, this.callOptions()))).root;
  }

  // --- Management of the served store; each call sees only the repositories the caller may pull ---

  /**
   * Yields the served repositories whose name starts with prefix, in
   * lexical order, each with its tag count and stored bytes. Pages of
   * pageSize (0: the server's 100, at most 1000) are fetched as the loop
   * asks for more, following the server's page tokens.
   */
  async *listRepositories(options: { prefix?: string; pageSize?: number } = {}): AsyncGenerator<RepositoryInfo, void, undefined> {
    let pageToken = "";
    do {
      const req = { prefix: options.prefix ?? "", pageSize: Math.max(options.pageSize ?? 0, 0), pageToken };
      const page = await this.unary(() => this.raw.listRepositories(req, this.callOptions()));
      yield* page.repositories;
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
  }

  /**
   * Deletes served repository name whole: tags, manifests and records; its
   * blobs go at the next garbage collection. An unknown repository throws
   * NotFoundError; a server under `--disable-delete` refuses (UnimplementedError).
   */
  async deleteRepository(name: string): Promise<DeleteRepositoryResponse> {
    return this.unary(() => this.raw.deleteRepository({ name }, this.callOptions()));
  }

  /** The bytes the served repositories under prefix hold: in all (each blob once), each, shared, and the quotas. */
  async storageUsage(prefix = ""): Promise<StorageUsageResponse> {
    return this.unary(() => this.raw.storageUsage({ prefix }, this.callOptions()));
  }

  /**
   * Collects garbage in the served store now; with dryRun only reports what
   * it would remove. Unreferenced content changed less than graceSeconds ago
   * stays (0: the server's `--gc-grace`).
   */
  async runGC(options: { dryRun?: boolean; graceSeconds?: number | bigint } = {}): Promise<RunGCResponse> {
    const req = { dryRun: options.dryRun ?? false, graceSeconds: BigInt(options.graceSeconds ?? 0) };
    return this.unary(() => this.raw.runGC(req, this.callOptions()));
  }

  // --- What the server runs on its own: the sync jobs and retention of `serve --config` ---

  /** The sync jobs the caller may see, with their schedules, next runs and last runs. */
  async listSyncJobs(): Promise<SyncJob[]> {
    return (await this.unary(() => this.raw.listSyncJobs({}, this.callOptions()))).jobs;
  }

  /** Sync job name with the per-image results of its last run. */
  async syncStatus(name: string): Promise<GetSyncStatusResponse> {
    return this.unary(() => this.raw.getSyncStatus({ name }, this.callOptions()));
  }

  /**
   * Runs sync job name now: a message per image as it finishes, then the
   * summary. A job already running throws UnavailableError: runs of a job
   * never overlap. Aborting the signal cancels the run.
   */
  async *runSyncNow(name: string, options: { signal?: AbortSignal } = {}): AsyncGenerator<RunSyncNowResponse, void, undefined> {
    yield* this.stream(this.raw.runSyncNow({ name }, { signal: options.signal }));
  }

  /** Applies the server's retention policies and collects garbage; with dryRun only lists what a run would remove. */
  async runRetention(options: { dryRun?: boolean } = {}): Promise<RunRetentionResponse> {
    return this.unary(() => this.raw.runRetention({ dryRun: options.dryRun ?? false }, this.callOptions()));
  }

  private callOptions(): { timeoutMs?: number } {
    return { timeoutMs: this.options.timeoutMs };
  }

  /** Re-yields a server stream, converting its errors. */
  private async *stream<T>(it: AsyncIterable<T>): AsyncGenerator<T, void, undefined> {
    try {
      yield* it;
    } catch (e) {
      throw toStevedoreError(e);
    }
  }

  private async unary<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      throw toStevedoreError(e);
    }
  }
}

/** Reads a file in CHUNK-sized pieces. */
async function* chunksOf(f: import("node:fs/promises").FileHandle): AsyncGenerator<Uint8Array> {
  for (;;) {
    const buf = new Uint8Array(CHUNK);
    const { bytesRead } = await f.read(buf, 0, CHUNK);
    if (bytesRead === 0) {
      return;
    }
    yield buf.subarray(0, bytesRead);
  }
}
