// The JSON shapes of the REST API (grpc-gateway: camelCase fields, int64 as
// strings, unset fields present) that the console reads. Only what it uses;
// the full schema is /openapi.json.

/** An int64 field: grpc-gateway sends them as strings. */
export type Int64 = string | number;

export interface RepositoryInfo {
  name: string;
  tagCount: number;
  storedBytes: Int64;
}

export interface ListRepositoriesResponse {
  repositories: RepositoryInfo[];
  nextPageToken: string;
}

export interface RepositoryUsage {
  name: string;
  blobs: number;
  bytes: Int64;
  sharedBytes: Int64;
}

export interface StorageUsageResponse {
  totalBytes: Int64;
  sharedBytes: Int64;
  repositories: RepositoryUsage[];
}

export interface Platform {
  os: string;
  architecture: string;
  variant: string;
  osVersion?: string;
  osFeatures?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: Int64;
  annotations: Record<string, string>;
  artifactType: string;
  platform: Platform | null;
}

export interface ImageConfig {
  created: string | null;
  author: string;
  os: string;
  architecture: string;
  variant: string;
  user: string;
  env: string[];
  entrypoint: string[];
  cmd: string[];
  workingDir: string;
  labels: Record<string, string>;
  exposedPorts: string[];
}

export interface InspectResponse {
  ref: string;
  digest: string;
  mediaType: string;
  platforms: Platform[];
  manifestDigest: string;
  artifactType: string;
  annotations: Record<string, string>;
  config: ImageConfig | null;
  layers: Descriptor[];
}

export interface GetManifestResponse {
  digest: string;
  mediaType: string;
  raw: string; // base64
}

export interface ListTagsResponse {
  tags: string[];
}

export interface BlobChunk {
  offset: Int64;
  data: string; // base64
  size?: Int64;
}

export interface FileInfo {
  path: string;
  type: string;
  mode: Int64;
  size: Int64;
  uid: Int64;
  gid: Int64;
  linkname: string;
  mtime: string | null;
  layer: number;
  layerDigest: string;
}

export interface ListFilesResponse {
  files: FileInfo[];
}

export interface LayerSize {
  layer: number;
  digest: string;
  mediaType: string;
  compressed: Int64;
  uncompressed: Int64;
  files: number;
  wasted: Int64;
}

export interface SizeResponse {
  digest: string;
  layers: LayerSize[];
  compressed: Int64;
  uncompressed: Int64;
  wasted: Int64;
}

export interface HistoryEntry {
  created: string | null;
  createdBy: string;
  author: string;
  comment: string;
  emptyLayer: boolean;
  layer: number;
  digest: string;
  diffId: string;
  size: Int64;
}

export interface HistoryResponse {
  entries: HistoryEntry[];
}

export interface ConfigFieldDiff {
  field: string;
  a: string;
  b: string;
}

export interface FileChange {
  path: string;
  what: string[];
  a: FileInfo;
  b: FileInfo;
}

export interface DiffResponse {
  a: string;
  b: string;
  config: ConfigFieldDiff[];
  sharedLayers: number;
  added: FileInfo[];
  removed: FileInfo[];
  changed: FileChange[];
}

export interface ReferrerNode {
  descriptor: Descriptor;
  referrers: ReferrerNode[];
}

export interface DiscoverReferrersResponse {
  root: ReferrerNode;
}

export type SignatureFormat = "SIGNATURE_FORMAT_UNSPECIFIED" | "SIGNATURE_FORMAT_BUNDLE" | "SIGNATURE_FORMAT_LEGACY";

export interface TreeEntry {
  manifest: Descriptor;
  format: SignatureFormat;
  tag: string;
  artifactType: string;
  predicateType: string;
  layers: Descriptor[];
}

export interface TreeResponse {
  subject: Descriptor;
  signatures: TreeEntry[];
  attestations: TreeEntry[];
  sboms: TreeEntry[];
  other: TreeEntry[];
}

export interface SignerCertificate {
  subject: string;
  issuer: string;
  ca: string;
}

export interface Finding {
  format: SignatureFormat;
  manifest: string;
  tag: string;
  layer: string;
  predicateType: string;
  annotations: Record<string, string>;
  keyHint: string;
  key: string;
  verified: boolean;
  reason: string;
  certificate: SignerCertificate | null;
  check: string;
}

export interface VerifyResponse {
  verified: boolean;
  subject: Descriptor;
  findings: Finding[];
}

export type CopyEventKind =
  | "COPY_EVENT_KIND_UNSPECIFIED"
  | "COPY_EVENT_KIND_BLOB_STARTED"
  | "COPY_EVENT_KIND_BLOB_BYTES"
  | "COPY_EVENT_KIND_BLOB_SKIPPED"
  | "COPY_EVENT_KIND_BLOB_DONE"
  | "COPY_EVENT_KIND_IMAGE_SKIPPED"
  | "COPY_EVENT_KIND_IMAGE_DONE"
  | "COPY_EVENT_KIND_RESULT"
  | "COPY_EVENT_KIND_BLOB_MOUNTED";

export interface CopyResult {
  source: string;
  destination: string;
  digest: string;
  mediaType: string;
  size: Int64;
  blobsCopied: number;
  blobsSkipped: number;
  manifestsCopied: number;
  manifestsSkipped: number;
  bytes: Int64;
  sourceDigest: string;
  blobsMounted: number;
  referrers: number;
}

export interface CopyEvent {
  kind: CopyEventKind;
  descriptor: Descriptor | null;
  bytes: Int64;
  result: CopyResult | null;
}

/** /console.json: what the server tells the console beyond the API. */
export interface ConsoleConfig {
  auth: boolean;
  registry: string;
  tls: boolean;
  deleteDisabled: boolean;
  trustedKeys: string[];
}

export interface ReadFileResponse {
  offset: Int64;
  data: string; // base64
}
