import pkg from "../package.json" with { type: "json" };
import { OLLMLX_VERSION_OVERRIDE } from "./config/settings.ts";

/** ollmlx's version; `bun build --compile` bakes it in from package.json. */
export const VERSION: string = OLLMLX_VERSION_OVERRIDE.read() ?? pkg.version;
