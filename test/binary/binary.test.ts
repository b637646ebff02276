// The standalone binary (scripts/build-binary.sh): dist/ copied to an empty folder outside the repo serves, imports
// a GGUF and answers, with no node_modules, no build/ and no .deps/ to lean on.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { buildDist, copyDist, freePort, ROOT, userEnv, waitForVersion } from "./dist.ts";

const GGUF = join(ROOT, ".deps/models/smollm2-135m-instruct-q4_1.gguf");
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;

let dir: string;
let models: string;
let host: string;
let env: Record<string, string>;
let server: ReturnType<typeof Bun.spawn> | undefined;

function ollmlx(...args: string[]) {
  const p = Bun.spawnSync([join(dir, "ollmlx"), ...args], { cwd: tmpdir(), env, stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

beforeAll(() => {
  dir = copyDist(buildDist());
  models = mkdtempSync(join(tmpdir(), "ollmlx-dist-models-"));
  host = `127.0.0.1:${freePort()}`;
  env = userEnv(host, models);
}, 120_000);

afterAll(async () => {
  server?.kill();
  await server?.exited;
  rmSync(dir, { recursive: true, force: true });
  rmSync(models, { recursive: true, force: true });
});

describe("the compiled binary, copied out of the repo", () => {
  test("the copied shim resolves libmlx and its BLAS inside the copy", () => {
    if (process.platform !== "linux") return;
    const ldd = Bun.spawnSync(["ldd", join(dir, "libmlxs.so")]).stdout.toString();
    expect(ldd).not.toContain("not found");
    for (const lib of ["libmlx.so", "liblapack", "libblas"]) {
      expect(ldd.split("\n").find((l) => l.includes(lib))).toContain(`=> ${dir}/`);
    }
  });

  test("--version prints package.json's version", () => {
    const v = ollmlx("--version");
    expect(v.code).toBe(0);
    expect(v.stdout + v.stderr).toContain(`client version is ${VERSION}`);
  });

  test("serve answers /api/version, and /swagger serves its embedded assets", async () => {
    server = Bun.spawn([join(dir, "ollmlx"), "serve"], { cwd: tmpdir(), env, stdout: "ignore", stderr: "pipe" });
    expect(await waitForVersion(`http://${host}`, 10_000, 20)).toBe(VERSION);
    const css = await fetch(`http://${host}/swagger/assets/swagger-ui.css`);
    expect(css.status).toBe(200);
    expect((await css.text()).length).toBeGreaterThan(10_000);
    expect((await fetch(`http://${host}/swagger`)).status).toBe(200);
  }, 15_000);

  test("create from a GGUF Modelfile, then run answers greedily: Paris", () => {
    const mf = join(models, "Modelfile");
    writeFileSync(mf, `FROM ${GGUF}\nPARAMETER temperature 0\n`);
    const created = ollmlx("create", "smollm2:135m", "-f", mf);
    expect(created.stderr).toEndWith("success\n");
    expect(created.code).toBe(0);

    const run = ollmlx("run", "smollm2:135m", "What is the capital of France?");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("Paris");
  }, 60_000);

  test("the darwin-arm64 executable cross-compiles from here: a Mach-O arm64 file", () => {
    // build-binary.sh --darwin-arm64 does this; the shim (libmlxs.dylib) still has to be built on a Mac.
    const out = join(mkdtempSync(join(tmpdir(), "ollmlx-darwin-")), "ollmlx");
    const bun = join(ROOT, "node_modules/.bin/bun");
    const build = Bun.spawnSync([bun, "build", "--compile", "--minify", "--target=bun-darwin-arm64", "./src/index.ts", "--outfile", out], {
      cwd: ROOT,
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(build.stderr.toString()).not.toContain("error");
    expect(build.exitCode).toBe(0);
    const head = new DataView(readFileSync(out).buffer, 0, 8);
    expect(head.getUint32(0, true)).toBe(0xfeedfacf); // MH_MAGIC_64
    expect(head.getUint32(4, true)).toBe(0x0100000c); // CPU_TYPE_ARM64
    rmSync(dirname(out), { recursive: true, force: true });
  }, 120_000);

  test("without MLX beside it, the binary names libmlx and the fix; OLLMLX_MLX_LIB points it at another MLX", async () => {
    if (process.platform !== "linux") return;
    const bare = mkdtempSync(join(tmpdir(), "ollmlx-bare-"));
    cpSync(join(dir, "ollmlx"), join(bare, "ollmlx"));
    cpSync(join(dir, "libmlxs.so"), join(bare, "libmlxs.so"));
    const port = freePort();
    const bareEnv = { ...env, OLLAMA_HOST: `127.0.0.1:${port}` };
    const failed = Bun.spawnSync([join(bare, "ollmlx"), "serve"], { cwd: tmpdir(), env: bareEnv, stdout: "pipe", stderr: "pipe", timeout: 20_000 });
    expect(failed.exitCode).not.toBe(0);
    const message = failed.stderr.toString();
    expect(message).toContain("libmlx.so");
    expect(message).toContain("OLLMLX_MLX_LIB");

    const withLib = Bun.spawn([join(bare, "ollmlx"), "serve"], {
      cwd: tmpdir(),
      env: { ...bareEnv, OLLMLX_MLX_LIB: join(dir, "mlx/lib") },
      stdout: "ignore",
      stderr: "ignore",
    });
    try {
      expect(await waitForVersion(`http://127.0.0.1:${port}`, 10_000, 20)).toBe(VERSION);
    } finally {
      withLib.kill();
      await withLib.exited;
      rmSync(bare, { recursive: true, force: true });
    }
  }, 30_000);
});
