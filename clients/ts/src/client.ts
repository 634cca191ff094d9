// The thin client over the generated Connect-ES code (src/gen), speaking
// native gRPC (HTTP/2) to `stevedore serve --grpc-addr`.
import { createHash } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, createClient as createConnectClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  CopyEventKind,
  ImageService,
  type CopyResponse,
  type GetManifestResponse,
  type InspectResponse,
} from "./gen/stevedore/v1/image_service_pb.js";
import { DataLossError, InvalidArgumentError, StevedoreError, UnavailableError, toStevedoreError } from "./errors.js";

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
  private readonly options: Required<Omit<ClientOptions, "interceptors" | "timeoutMs">> & { timeoutMs?: number };

  constructor(baseUrl: string, options: ClientOptions = {}) {
    const transport = createGrpcTransport({
      baseUrl,
      interceptors: options.interceptors,
      readMaxBytes: MAX_MESSAGE_SIZE,
    });
    this.raw = createConnectClient(ImageService, transport);
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

  private async unary<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      throw toStevedoreError(e);
    }
  }
}
