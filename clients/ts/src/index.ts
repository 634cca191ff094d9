// Package entry: the thin client, its errors, and the generated messages
// (also importable from "@stevedore-dev/client/gen/stevedore/v1/image_service_pb").
export { createClient, StevedoreClient, MAX_MESSAGE_SIZE, type ClientOptions, type CopyOptions, type GetBlobOptions, type PulledArtifact } from "./client.js";
export * from "./gen/stevedore/v1/sign_service_pb.js";
export * from "./errors.js";
export * from "./gen/stevedore/v1/image_service_pb.js";
export { Code, type Interceptor } from "@connectrpc/connect";
