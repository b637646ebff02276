// A model that cannot be built from its files: missing or unused tensors, shapes that do not fit, a bad config.
export class ModelLoadError extends Error {
  override name = "ModelLoadError";
}
