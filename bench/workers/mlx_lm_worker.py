# Worker: mlx-lm's own Python API (load + stream_generate) on the same model directory, greedy, reporting the
# same figures as bench/workers/engine.ts (bench/lib/types.ts: WorkerReport) as one JSON line.
#   python3 mlx_lm_worker.py MODEL_DIR PROMPTS_JSON GEN REPS BUDGET_S
# Warm-up (excluded) and the per-workload time budget as in engine.ts.
import json, resource, sys, time
import mlx.core as mx
from mlx_lm import load
from mlx_lm.generate import stream_generate
from mlx_lm.sample_utils import make_sampler

model_dir, prompts_file, n_gen, reps, budget = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
prompts = json.load(open(prompts_file))
t0 = time.perf_counter()
model, tokenizer = load(model_dir)
load_s = time.perf_counter() - t0
sampler = make_sampler(0.0)


def tagged(text, rep):  # bench/lib/workloads.ts: tagged()
    return f"Story {rep + 1}. {text}"


def once(text, max_tokens=n_gen):
    start = time.perf_counter()
    first, last = None, None
    for r in stream_generate(model, tokenizer, text, max_tokens=max_tokens, sampler=sampler):
        if first is None:
            first = time.perf_counter()
        last = r
    return {"promptTokens": last.prompt_tokens, "genTokens": last.generation_tokens, "ttftMs": (first - start) * 1000,
            "promptTps": last.prompt_tps, "genTps": last.generation_tps}


workloads, peak = {}, 0
once(tagged(prompts[0]["text"], 99), 16)  # warm-up, excluded (a prefill and a few steps, as engine.ts)
for w in prompts:
    samples, started = [], time.perf_counter()
    for i in range(reps):
        if i > 0 and time.perf_counter() - started > budget:
            break
        mx.reset_peak_memory()
        samples.append(once(tagged(w["text"], i)))
        peak = max(peak, mx.get_peak_memory())
    workloads[w["name"]] = samples

rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rss_mib = rss / 2**20 if sys.platform == "darwin" else rss / 1024  # bytes on macOS, KiB on Linux
print(json.dumps({"loadS": load_s, "rssPeakMiB": rss_mib, "mlxActiveMiB": mx.get_active_memory() / 2**20,
                  "mlxPeakMiB": peak / 2**20, "workloads": workloads}))
