// Model management bodies: show, tags, ps, pull, push, create, copy, delete, version (api/types.go).
import { t, type Static } from "elysia";
import { Int, Omittable } from "./go-json.ts";
import { Capability, Message, ModelDetails, Timestamp } from "./common.ts";
import { Options } from "./options.ts";

/** `name` is the deprecated spelling of `model` on show/pull/push/delete/create. */
const modelOrName = {
  model: Omittable(t.String()),
  name: Omittable(t.String({ deprecated: true, description: "deprecated: use model" })),
};

export const ShowRequest = t.Object(
  {
    ...modelOrName,
    verbose: Omittable(t.Boolean({ description: "include large arrays in model_info, and tensors" })),
    system: Omittable(t.String()),
    template: Omittable(t.String({ deprecated: true })),
    options: Omittable(Options),
  },
  { title: "ShowRequest" },
);

export const Tensor = t.Object({ name: t.String(), type: t.String(), shape: t.Array(Int()) });

export const ShowResponse = t.Object(
  {
    license: t.Optional(t.String()),
    modelfile: t.Optional(t.String()),
    parameters: t.Optional(t.String({ description: 'one line per parameter, "%-30s %#v"' })),
    template: t.Optional(t.String()),
    system: t.Optional(t.String()),
    renderer: t.Optional(t.String()),
    parser: t.Optional(t.String()),
    details: t.Optional(ModelDetails),
    messages: t.Optional(t.Array(Message)),
    remote_model: t.Optional(t.String()),
    remote_host: t.Optional(t.String()),
    model_info: t.Union([t.Record(t.String(), t.Unknown()), t.Null()], {
      description: 'e.g. "general.architecture", "<arch>.context_length"',
    }),
    projector_info: t.Optional(t.Record(t.String(), t.Unknown())),
    tensors: t.Optional(t.Array(Tensor)),
    capabilities: t.Optional(t.Array(Capability)),
    modified_at: t.Optional(Timestamp),
    requires: t.Optional(t.String()),
  },
  { title: "ShowResponse" },
);

/** One entry of GET /api/tags. */
export const ListModel = t.Object({
  name: t.String(),
  model: t.String(),
  remote_model: t.Optional(t.String()),
  remote_host: t.Optional(t.String()),
  modified_at: Timestamp,
  size: Int(),
  digest: t.String({ description: "sha256 hex of the manifest, no prefix" }),
  details: ModelDetails,
  capabilities: t.Optional(t.Array(Capability)),
});
export const ListResponse = t.Object({ models: t.Array(ListModel) }, { title: "ListResponse" });

/** One entry of GET /api/ps. */
export const ProcessModel = t.Object({
  name: t.String(),
  model: t.String(),
  size: Int(),
  digest: t.String(),
  details: ModelDetails,
  expires_at: Timestamp,
  size_vram: Int(),
  context_length: t.Optional(Int()),
});
export const ProcessResponse = t.Object({ models: t.Array(ProcessModel) }, { title: "ProcessResponse" });

export const PullRequest = t.Object(
  {
    ...modelOrName,
    insecure: Omittable(t.Boolean({ description: "allow http:// registries" })),
    username: Omittable(t.String({ deprecated: true })),
    password: Omittable(t.String({ deprecated: true })),
    stream: Omittable(t.Boolean()),
  },
  { title: "PullRequest" },
);
export const PushRequest = t.Object({ ...PullRequest.properties }, { title: "PushRequest" });

/** pull/push/create progress: `pulling manifest`, `pulling <digest[7:19]>` + digest/total/completed, ..., `success`. */
export const ProgressResponse = t.Object(
  {
    status: t.String(),
    digest: t.Optional(t.String()),
    total: t.Optional(Int()),
    completed: t.Optional(Int()),
  },
  { title: "ProgressResponse" },
);

const FileDigests = t.Record(t.String(), t.String({ description: '"sha256:<hex>" of an uploaded blob' }));

/** The JSON form of create (no Modelfile text on the wire). */
export const CreateRequest = t.Object(
  {
    ...modelOrName,
    stream: Omittable(t.Boolean()),
    quantize: Omittable(t.String({ examples: ["q4_K_M", "q8_0", "int4", "nvfp4"] })),
    quantization: Omittable(t.String({ deprecated: true })),
    draft_quantize: Omittable(t.String()),
    from: Omittable(t.String({ description: "an existing model to build on" })),
    remote_host: Omittable(t.String()),
    files: Omittable(FileDigests),
    draft_files: Omittable(FileDigests),
    adapters: Omittable(FileDigests),
    fuse: Omittable(
      t.Boolean({
        description: "ollmlx: merge `adapters` into the base's weights (as mlx_lm.fuse: quantized weights dequantized, added to, requantized) instead of storing an adapter layer",
      }),
    ),
    template: Omittable(t.String()),
    license: Omittable(t.Union([t.String(), t.Array(t.String())])),
    system: Omittable(t.String()),
    parameters: Omittable(Options),
    messages: Omittable(t.Array(Message)),
    renderer: Omittable(t.String()),
    parser: Omittable(t.String()),
    requires: Omittable(t.String({ description: "minimum Ollama version (semver)" })),
    info: Omittable(t.Record(t.String(), t.Unknown())),
  },
  { title: "CreateRequest" },
);

export const CopyRequest = t.Object(
  // Go leaves a missing name "", which CopyHandler reports as invalid
  { source: t.String({ error: 'source "" is invalid' }), destination: t.String({ error: 'destination "" is invalid' }) },
  { title: "CopyRequest" },
);

export const DeleteRequest = t.Object({ ...modelOrName }, { title: "DeleteRequest" });

export const VersionResponse = t.Object({ version: t.String() }, { title: "VersionResponse" });

export type ShowRequest = Static<typeof ShowRequest>;
export type ShowResponse = Static<typeof ShowResponse>;
export type ListModel = Static<typeof ListModel>;
export type ListResponse = Static<typeof ListResponse>;
export type ProcessModel = Static<typeof ProcessModel>;
export type ProcessResponse = Static<typeof ProcessResponse>;
export type PullRequest = Static<typeof PullRequest>;
export type PushRequest = Static<typeof PushRequest>;
export type ProgressResponse = Static<typeof ProgressResponse>;
export type CreateRequest = Static<typeof CreateRequest>;
export type CopyRequest = Static<typeof CopyRequest>;
export type DeleteRequest = Static<typeof DeleteRequest>;
export type VersionResponse = Static<typeof VersionResponse>;
