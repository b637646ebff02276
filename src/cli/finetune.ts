// `ollmlx finetune NEW_NAME --from BASE --data train.jsonl [--valid valid.jsonl] [--iters N] …`: uploads the data as
// blobs (as `create` uploads a Modelfile's files), POST /api/finetune, a progress bar with the live loss, and at the
// end the loss curve as an SVG next to the data, whose path it prints.
import { writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { Client } from "./client.ts";
import { uploadBlob } from "./create.ts";
import { sha256File } from "./modelfile.ts";
import { Progress, Spinner, type ProgressLine } from "./progress.ts";

/** "training  37% ▕███      ▏ 37/100  loss 2.314  412 tok/s" */
class TrainingBar implements ProgressLine {
  completed = 0;
  loss = NaN;
  rate = 0;
  private stopped = false;
  constructor(readonly total: number) {}

  get done(): boolean {
    return this.stopped || this.completed >= this.total;
  }

  stop(): void {
    this.stopped = true;
  }

  render(width: number): string {
    const percent = Math.floor((100 * this.completed) / Math.max(1, this.total));
    const pre = `training ${`${percent}%`.padStart(4)} `;
    const suf = ` ${this.completed}/${this.total}  loss ${Number.isNaN(this.loss) ? "-" : this.loss.toFixed(3)}  ${Math.round(this.rate)} tok/s`;
    const room = width - pre.length - suf.length - 3;
    if (room <= 0) return pre + suf.trimStart();
    const filled = Math.trunc((room * percent) / 100);
    return `${pre}▕${"█".repeat(filled)}${" ".repeat(room - filled)}▏${suf}`;
  }
}

const INT_FLAGS = ["iters", "batch-size", "rank", "num-layers", "max-seq-length", "seed", "warmup", "grad-accumulation-steps", "save-every"] as const;
const FLOAT_FLAGS = ["learning-rate", "scale", "weight-decay", "dropout"] as const;

export async function finetune(client: Client, [model]: string[], flags: Map<string, string>): Promise<number> {
  const from = flags.get("from");
  const data = flags.get("data");
  const resume = flags.get("resume") === "true";
  if (!from && !resume) throw new Error("--from is required: the model to fine-tune");
  if (!data && !resume) throw new Error("--data is required: a JSONL file of training rows");
  const parameters: Record<string, unknown> = {};
  if (flags.has("lr-schedule")) {
    try {
      parameters.lr_schedule = JSON.parse(flags.get("lr-schedule")!);
    } catch {
      throw new Error('--lr-schedule must be JSON, e.g. {"name":"cosine_decay","arguments":[1e-4,100]}');
    }
  }
  for (const f of INT_FLAGS) if (flags.has(f)) parameters[f.replaceAll("-", "_")] = Number.parseInt(flags.get(f)!, 10);
  for (const f of FLOAT_FLAGS) if (flags.has(f)) parameters[f.replaceAll("-", "_")] = Number.parseFloat(flags.get(f)!);
  if (flags.get("mask-prompt") === "true") parameters.mask_prompt = true;
  if (flags.get("grad-checkpoint") === "true") parameters.grad_checkpoint = true;
  for (const [k, v] of Object.entries(parameters)) if (typeof v === "number" && Number.isNaN(v)) throw new Error(`invalid value for --${k.replaceAll("_", "-")}`);

  const progress = new Progress();
  const losses: number[] = [];
  let valLoss: number | undefined;
  try {
    const files: Record<string, string> = {};
    for (const [name, path] of [["train.jsonl", data], ["valid.jsonl", flags.get("valid")]] as const) {
      if (!path) continue;
      const digest = await sha256File(resolve(path));
      await uploadBlob(client, digest, resolve(path), progress);
      files[name] = digest;
    }
    let bar: TrainingBar | undefined;
    let spinner: Spinner | undefined;
    const body = { model, ...(from ? { from } : {}), ...(data ? { files } : {}), parameters, ...(resume ? { resume } : {}), ...(flags.get("fuse") === "true" ? { fuse: true } : {}) };
    for await (const p of client.finetune(body)) {
      if (p.status === "training" && p.total) {
        if (!bar) {
          spinner?.stop();
          bar = new TrainingBar(p.total);
          progress.add(bar);
        }
        bar.completed = p.completed ?? 0;
        bar.loss = p.loss ?? NaN;
        bar.rate = p.tokens_per_second ?? 0;
        if (p.loss !== undefined) losses.push(p.loss);
        progress.update();
        continue;
      }
      if (p.val_loss !== undefined) valLoss = p.val_loss;
      spinner?.stop();
      spinner = new Spinner(p.val_loss !== undefined ? `validation loss ${p.val_loss.toFixed(3)}` : p.status);
      progress.add(spinner);
    }
  } finally {
    progress.stop();
  }
  if (losses.length > 0) {
    const chart = join(data ? dirname(resolve(data)) : process.cwd(), `${basename(model).replace(/[^A-Za-z0-9._-]/g, "_")}-loss.svg`);
    writeFileSync(chart, lossChart(model, losses, valLoss));
    console.log(`loss curve: ${chart}`);
  }
  return 0;
}

/** The training loss per iteration as an SVG line chart (and the validation loss as a dashed line). */
export function lossChart(title: string, losses: readonly number[], valLoss?: number): string {
  const W = 640;
  const H = 360;
  const m = { left: 56, right: 16, top: 36, bottom: 40 };
  const all = valLoss === undefined ? losses : [...losses, valLoss];
  const hi = Math.max(...all);
  const lo = Math.min(0, Math.min(...all));
  const x = (i: number) => m.left + ((W - m.left - m.right) * i) / Math.max(1, losses.length - 1);
  const y = (v: number) => m.top + ((H - m.top - m.bottom) * (hi - v)) / Math.max(1e-9, hi - lo);
  const points = losses.map((l, i) => `${x(i).toFixed(1)},${y(l).toFixed(1)}`).join(" ");
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => lo + (hi - lo) * f);
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}: training loss</text>`,
    ...ticks.map((t) => `<line x1="${m.left}" x2="${W - m.right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#ddd"/><text x="${m.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${t.toFixed(2)}</text>`),
    `<text x="${W / 2}" y="${H - 8}" text-anchor="middle">iteration (1–${losses.length})</text>`,
    `<polyline fill="none" stroke="#1f6feb" stroke-width="2" points="${points}"/>`,
    ...(valLoss === undefined
      ? []
      : [`<line x1="${m.left}" x2="${W - m.right}" y1="${y(valLoss).toFixed(1)}" y2="${y(valLoss).toFixed(1)}" stroke="#d1242f" stroke-dasharray="6 4"/><text x="${W - m.right}" y="${(y(valLoss) - 6).toFixed(1)}" text-anchor="end" fill="#d1242f">validation ${valLoss.toFixed(3)}</text>`]),
    `</svg>`,
    "",
  ].join("\n");
}
