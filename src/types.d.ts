// Text files imported as strings (`import t from "./x.jinja" with { type: "text" }`): bundled by Bun, also into
// the compiled binary.
declare module "*.jinja" {
  const text: string;
  export default text;
}

// Files imported as paths (`import p from "x" with { type: "file" }`): on disk under `bun`, embedded (/$bunfs/...)
// in the compiled binary. Only the swagger-ui-dist assets so far (src/routes/swagger.ts).
declare module "swagger-ui-dist/swagger-ui-bundle.js" {
  const path: string;
  export default path;
}
declare module "swagger-ui-dist/swagger-ui.css" {
  const path: string;
  export default path;
}
