import pkg from "../package.json" with { type: "json" };

/** ollmlx's version; `bun build --compile` bakes it in from package.json. */
export const VERSION: string = process.env.OLLMLX_VERSION_OVERRIDE || pkg.version;
