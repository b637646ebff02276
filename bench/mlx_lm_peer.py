# The peer: mlx-lm's own stream_generate on the same model directory, greedy, reporting the same figures.
#   python3 mlx_lm_peer.py MODEL_DIR PROMPT_TOKENS GEN_TOKENS
import json, sys, time
import mlx.core as mx
from mlx_lm import load
from mlx_lm.generate import stream_generate
from mlx_lm.sample_utils import make_sampler

model_dir, n_prompt, n_gen = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t0 = time.perf_counter()
model, tokenizer = load(model_dir)
load_s = time.perf_counter() - t0
vocab = min(tokenizer.vocab_size, 5000)
prompt = [(i * 7919) % (vocab - 100) + 50 for i in range(n_prompt)]
last = None
for r in stream_generate(model, tokenizer, prompt, max_tokens=n_gen, sampler=make_sampler(0.0)):
    last = r
print(json.dumps({"load_s": load_s, "prompt_tokens": last.prompt_tokens, "prompt_tps": last.prompt_tps,
                  "generation_tokens": last.generation_tokens, "generation_tps": last.generation_tps,
                  "peak_memory_gb": last.peak_memory}))
