// Text files imported as strings (`import t from "./x.jinja" with { type: "text" }`): bundled by Bun, also into
// the compiled binary.
declare module "*.jinja" {
  const text: string;
  export default text;
}
