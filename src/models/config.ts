// Reading config.json fields with mlx-lm's defaults; a missing required field is a clear load error.
export type Config = Record<string, unknown>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

export function req(c: Config, key: string): number {
  const v = c[key];
  if (typeof v !== "number") throw new ConfigError(`config.json: "${key}" is missing or not a number`);
  return v;
}

export function opt(c: Config, key: string, fallback: number): number {
  const v = c[key];
  return typeof v === "number" ? v : fallback;
}

export function optBool(c: Config, key: string, fallback: boolean): boolean {
  const v = c[key];
  return typeof v === "boolean" ? v : fallback;
}
