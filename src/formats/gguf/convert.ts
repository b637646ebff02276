// A GGUF file → a model directory in the mlx-community layout (model.safetensors, config.json, tokenizer.json,
// tokenizer_config.json, chat_template.jinja) that mlx-lm itself loads.
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { saveSafetensors } from "../../ffi/index.ts";
import { tokenizerFromGguf } from "../tokenizer/from-gguf.ts";
import { loadGgufWeights } from "./to-mlx.ts";

export function convertGgufToMlx(ggufPath: string, outDir: string): void {
  const { file, config, tensors } = loadGgufWeights(ggufPath);
  const tmp = `${outDir}.partial-${process.pid}`;
  try {
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    saveSafetensors(join(tmp, "model.safetensors"), tensors, { format: "mlx" });
    // mlx-lm passes each layer's entry to to_quantized(**entry): our own key (the CPU kernels' int8 activations) goes
    const quant = Object.fromEntries(
      Object.entries(config.quantization as Record<string, unknown>).map(([path, q]) => {
        if (!q || typeof q !== "object") return [path, q];
        const { activations: _, ...rest } = q as Record<string, unknown>;
        return [path, rest];
      }),
    );
    writeFileSync(join(tmp, "config.json"), JSON.stringify({ ...config, quantization: quant, quantization_config: quant }, null, 2));
    const tok = tokenizerFromGguf(file.metadata);
    writeFileSync(join(tmp, "tokenizer.json"), JSON.stringify(tok.json));
    const { chat_template: template, ...tokConfig } = tok.config;
    writeFileSync(join(tmp, "tokenizer_config.json"), JSON.stringify({ ...tokConfig, tokenizer_class: "PreTrainedTokenizerFast" }, null, 2));
    if (typeof template === "string") writeFileSync(join(tmp, "chat_template.jinja"), template);
    writeFileSync(join(tmp, "generation_config.json"), JSON.stringify({ eos_token_id: tok.extras.eosTokenId }, null, 2));
    rmSync(outDir, { recursive: true, force: true });
    renameSync(tmp, outDir);
  } finally {
    for (const t of tensors.values()) t.free();
    rmSync(tmp, { recursive: true, force: true });
  }
}
