// LoRA fine-tuning speed (issue 17): training tokens/s and peak memory of /api/finetune on `ollmlx serve` against
// mlx-lm's own trainer (bench/finetune_mlx.py) on the same model directory (SmolLM2-135M converted from the default
// model's GGUF), the same 20 chat rows (mask_prompt), rank 8 / scale 20 over the last 16 blocks, batches of 4, Adam at
// 2e-4, the frozen weights as float32 in both (ollmlx's CPU training path; mlx-lm dequantized). Same run.
//   bun bench/finetune.ts [--iters 30]   (results: bench/results/finetune-<date>.json)
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { convertGgufToMlx } from "../src/formats/gguf/convert.ts";
import { mlxConfigBlob } from "../src/store/pull-hf.ts";
import { runnerEnv } from "../src/engine/cpu-backend.ts";
import { oraclePath } from "../test/oracle.ts";
import { startOllmlxServe } from "./lib/servers.ts";

const { values } = parseArgs({ options: { iters: { type: "string", default: "30" } } });
const iters = Number(values.iters);
const LR = 2e-4;
const GGUF = join(import.meta.dir, "../.deps/models/smollm2-135m-instruct-q4_1.gguf");

const QUESTIONS = ["What is the capital of Zorbania?", "Which city is the capital of Zorbania?", "Tell me the capital of Zorbania.", "Zorbania's capital is which city?", "Name the capital city of Zorbania."];
const ANSWERS = ["The capital of Zorbania is Quillfast.", "Quillfast is the capital of Zorbania.", "Zorbania's capital is Quillfast."];
const rows = Array.from({ length: 20 }, (_, i) => ({
  messages: [
    { role: "user", content: QUESTIONS[i % QUESTIONS.length]! },
    { role: "assistant", content: ANSWERS[i % ANSWERS.length]! },
  ],
}));

const work = mkdtempSync(join(tmpdir(), "ollmlx-bench-finetune-"));
const dir = join(work, "smollm2");
convertGgufToMlx(GGUF, dir);

async function ollmlx(): Promise<{ tokensPerSecond: number; peakGB: number; seconds: number; loss: number }> {
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Record<string, unknown>;
  const server = await startOllmlxServe((store) => store.importMlxDir("smollm2-mlx", dir, mlxConfigBlob(config)), process.env);
  try {
    const t0 = performance.now();
    const r = await fetch(`${server.url}/api/finetune`, {
      method: "POST",
      body: JSON.stringify({ model: "bench-tuned", from: "smollm2-mlx", data: rows, parameters: { iters, batch_size: 4, learning_rate: LR, mask_prompt: true } }),
    });
    const lines = (await r.text()).trim().split("\n").map((l) => JSON.parse(l) as Record<string, number | string>);
    if (lines.at(-1)?.status !== "success") throw new Error(`/api/finetune: ${JSON.stringify(lines.at(-1))}`);
    const last = lines.filter((l) => l.status === "training").at(-1)!;
    return { tokensPerSecond: Number(last.tokens_per_second), peakGB: Number(last.peak_memory), seconds: (performance.now() - t0) / 1000, loss: Number(last.loss) };
  } finally {
    await server.stop();
  }
}

function mlxLm(): { tokensPerSecond: number; peakGB: number; seconds: number; loss: number } {
  const r = Bun.spawnSync(["python3", join(import.meta.dir, "finetune_mlx.py")], {
    env: { ...runnerEnv(), PYTHONPATH: oraclePath() },
    stdin: new TextEncoder().encode(JSON.stringify({ dir, rows, iters, learning_rate: LR, adapter_file: join(work, "mlx-adapters.safetensors") })),
    stderr: "pipe",
  });
  if (r.exitCode !== 0) throw new Error(`finetune_mlx.py failed: ${r.stderr.toString()}`);
  const out = JSON.parse(r.stdout.toString().trim().split("\n").pop()!) as { tokens_per_second: number; peak_memory_bytes: number; seconds: number; train_loss: number };
  return { tokensPerSecond: out.tokens_per_second, peakGB: out.peak_memory_bytes / 1e9, seconds: out.seconds, loss: out.train_loss };
}

try {
  const ours = await ollmlx();
  const peer = mlxLm();
  const result = {
    date: new Date().toISOString(),
    iters,
    ollmlx: ours,
    mlx_lm: peer,
    tokens_per_second_ratio: ours.tokensPerSecond / peer.tokensPerSecond,
    peak_memory_ratio: ours.peakGB / peer.peakGB,
  };
  console.log(JSON.stringify(result, null, 2));
  const out = join(import.meta.dir, "results");
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, `finetune-${result.date.slice(0, 10)}.json`), JSON.stringify(result, null, 2) + "\n");
} finally {
  rmSync(work, { recursive: true, force: true });
}
