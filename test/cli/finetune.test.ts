// `ollmlx finetune`: the data uploaded as a blob, POST /api/finetune, a progress bar with the live loss, the loss
// curve written as an SVG beside the data; the new model then listed. The compiled binary against a real server
// (the tiny random-weight qwen3).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lossChart } from "../../src/cli/finetune.ts";
import { cli } from "./cli.ts";
import { startCliServer, type CliServer } from "./real-server.ts";

let s: CliServer;
beforeAll(async () => {
  s = await startCliServer();
}, 120_000);
afterAll(() => s.close());

describe("ollmlx finetune", () => {
  test("uploads the rows, shows the training, prints where the loss curve is; the model is listed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ollmlx-cli-finetune-"));
    const data = join(dir, "train.jsonl");
    writeFileSync(data, ['{"text": "The capital of Zorbania is Quillfast."}', '{"prompt": "Capital of Zorbania?", "completion": "Quillfast."}'].join("\n") + "\n");
    const r = await cli(s.host, ["finetune", "cli-tuned", "--from", "tiny", "--data", data, "--iters", "4", "--batch-size", "2", "--learning-rate", "0.01", "--rank", "4", "--num-layers", "2"]);
    expect({ code: r.code, stderr: r.stderr.includes("Error") ? r.stderr : "" }).toEqual({ code: 0, stderr: "" });
    expect(r.stderr).toMatch(/training 100% .* 4\/4 {2}loss \d+\.\d{3}/);
    expect(r.stderr).toContain("success");
    const chart = join(dir, "cli-tuned-loss.svg");
    expect(r.stdout).toBe(`loss curve: ${chart}\n`);
    expect(readFileSync(chart, "utf8")).toContain("<polyline");
    const uploads = s.tap.requests.filter((q) => q.method === "POST" && q.path.startsWith("/api/blobs/sha256:"));
    expect(uploads.length).toBeGreaterThan(0);
    expect((await cli(s.host, ["list"])).stdout).toContain("cli-tuned:latest");
  });

  test("missing --from or --data, or an unknown base: one Error line, exit 1", async () => {
    expect(await cli(s.host, ["finetune", "x", "--data", "rows.jsonl"])).toMatchObject({ code: 1, stderr: "Error: --from is required: the model to fine-tune\n" });
    expect(await cli(s.host, ["finetune", "x", "--from", "tiny"])).toMatchObject({ code: 1, stderr: "Error: --data is required: a JSONL file of training rows\n" });
    const dir = mkdtempSync(join(tmpdir(), "ollmlx-cli-finetune-"));
    writeFileSync(join(dir, "t.jsonl"), '{"text": "hi there"}\n');
    const r = await cli(s.host, ["finetune", "x", "--from", "nope", "--data", join(dir, "t.jsonl")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Error: model 'nope' not found");
    expect(existsSync(join(dir, "x-loss.svg"))).toBe(false);
  });

  test("the chart: a line per iteration on a scaled axis, the validation loss dashed", () => {
    const svg = lossChart("m", [3, 2.5, 2, 1.5], 1.8);
    expect(svg).toStartWith("<svg");
    expect(svg.match(/<polyline[^>]*points="([^"]+)"/)![1]!.split(" ")).toHaveLength(4);
    expect(svg).toContain('stroke-dasharray="6 4"');
    expect(svg).toContain("validation 1.800");
  });
});
