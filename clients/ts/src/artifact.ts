// File I/O for the artifact and byte-stream calls: pulled files are written
// beside their final name, hashed as they arrive, and renamed only once
// their digest and size match.
import { createHash, type Hash } from "node:crypto";
import { open, mkdir, rename, rm, type FileHandle } from "node:fs/promises";
import { dirname, isAbsolute, join, normalize, sep } from "node:path";
import { Code } from "@connectrpc/connect";
import type { PulledFile } from "./gen/stevedore/v1/image_service_pb.js";
import { DataLossError, InvalidArgumentError } from "./errors.js";

/** One file of a pull being written. */
export class PullFile {
  private n = 0n;

  private constructor(
    readonly path: string,
    private readonly file: FileHandle,
    private readonly hash: Hash,
    private readonly expected: string,
    private readonly size: bigint,
  ) {}

  /**
   * Opens NAME.part under dir for header, refusing a name that is absolute
   * or climbs out of dir. A directory layer is kept as NAME.tar.gz.
   */
  static async start(dir: string, header: PulledFile): Promise<PullFile> {
    const name = header.name + (header.unpack ? ".tar.gz" : "");
    const norm = normalize(name);
    if (!name || isAbsolute(name) || name.includes("\\") || norm === ".." || norm.startsWith(".." + sep)) {
      throw new InvalidArgumentError(`artifact file ${JSON.stringify(header.name)} escapes ${dir}`, Code.InvalidArgument);
    }
    const [algorithm, expected] = (header.descriptor?.digest ?? "").split(":");
    if ((algorithm !== "sha256" && algorithm !== "sha512") || !expected) {
      throw new InvalidArgumentError(`artifact file ${name}: digest ${header.descriptor?.digest}`, Code.InvalidArgument);
    }
    const path = join(dir, norm);
    await mkdir(dirname(path), { recursive: true });
    const file = await open(path + ".part", "w", (header.mode & 0o777) || 0o644);
    await file.chmod((header.mode & 0o777) || 0o644);
    return new PullFile(path, file, createHash(algorithm), expected, header.descriptor?.size ?? 0n);
  }

  async write(offset: bigint, data: Uint8Array): Promise<void> {
    if (offset !== this.n) {
      throw new DataLossError(`${this.path}: chunk at offset ${offset}, want ${this.n}`, Code.DataLoss);
    }
    this.hash.update(data);
    await this.file.write(data);
    this.n += BigInt(data.length);
  }

  async finish(): Promise<void> {
    await this.file.close();
    const got = this.hash.digest("hex");
    if (this.n !== this.size || got !== this.expected) {
      await this.abort();
      throw new DataLossError(`${this.path}: ${this.n} bytes do not match ${this.expected}`, Code.DataLoss, "DIGEST_INVALID");
    }
    await rename(this.path + ".part", this.path);
  }

  async abort(): Promise<void> {
    await this.file.close().catch(() => {});
    await rm(this.path + ".part", { force: true });
  }
}

/** Writes offset-carrying chunks to path, refusing gaps; returns the size. */
export async function writeChunks(chunks: AsyncIterable<{ offset: bigint; data: Uint8Array }>, path: string): Promise<number> {
  const file = await open(path, "w");
  let n = 0n;
  try {
    for await (const c of chunks) {
      if (c.offset !== n) {
        throw new DataLossError(`${path}: chunk at offset ${c.offset}, want ${n}`, Code.DataLoss);
      }
      await file.write(c.data);
      n += BigInt(c.data.length);
    }
  } finally {
    await file.close();
  }
  return Number(n);
}
