// Formula/ollmlx.rb without a Mac: Ruby parses it, RuboCop passes with the part of Homebrew's style that stock
// RuboCop can apply (Formula/.rubocop.yml), and it holds what `brew install ollmlx` needs.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "../..");
const FORMULA = join(ROOT, "Formula/ollmlx.rb");
const source = readFileSync(FORMULA, "utf8");

function run(cmd: string[]) {
  const p = Bun.spawnSync(cmd, { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, out: p.stdout.toString() + p.stderr.toString() };
}

describe("Formula/ollmlx.rb", () => {
  test("ruby -c: Syntax OK", () => {
    const r = run(["ruby", "-c", FORMULA]);
    expect(r.out).toContain("Syntax OK");
    expect(r.code).toBe(0);
  });

  test("rubocop with Homebrew's applicable style: no offenses", () => {
    const r = run(["rubocop", "--config", join(ROOT, "Formula/.rubocop.yml"), "--format", "simple", FORMULA]);
    expect(r.out).toContain("no offenses detected");
    expect(r.code).toBe(0);
  });

  test("depends on Homebrew's mlx, builds the shim against it, installs binary and shim side by side", () => {
    expect(source).toMatch(/^\s*depends_on "mlx"$/m);
    expect(source).toContain('"make", "-C", "native/mlx_c_shim", "MLX_PREFIX=#{mlx.opt_prefix}"');
    expect(source).toMatch(/"build", "--compile"/);
    expect(source).toContain('libexec.install "build/ollmlx", "build/libmlxs.dylib"');
    expect(source).toContain('bin.install_symlink libexec/"ollmlx"');
  });

  test("a service running `ollmlx serve`, and a test that checks --version and /api/version on a free port", () => {
    expect(source).toMatch(/service do\s+run \[opt_bin\/"ollmlx", "serve"\]/);
    const testBlock = source.slice(source.indexOf("test do"));
    expect(testBlock).toContain("--version");
    expect(testBlock).toContain("free_port");
    expect(testBlock).toContain("/api/version");
  });
});
