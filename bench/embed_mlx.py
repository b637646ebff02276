# The mlx-embeddings peer of bench/embed.ts: all-MiniLM-L6-v2 (the same sentence-transformers directory) through
# mlx-embeddings' own BERT, inputs sorted by length and run in padded, masked batches as ollmlx runs them, then
# mean-pooled and normalized (the model's 1_Pooling), tokenization included in the time. Best of `runs`.
# stdin: {"dir", "texts", "batch", "runs"}; stdout: {"seconds": best, "dims": n}
# PYTHONPATH: the oracle and .deps/mlx-embeddings-<version>, as test/fixtures/embed_oracle.py.
import json, os, sys, time, types

import mlx.core as mx
from tokenizers import Tokenizer

pkg_dir = next(os.path.join(p, "mlx_embeddings") for p in sys.path if os.path.isdir(os.path.join(p, "mlx_embeddings")))
pkg = types.ModuleType("mlx_embeddings")  # its __init__ imports mlx-vlm, which BERT does not need
pkg.__path__ = [pkg_dir]
sys.modules["mlx_embeddings"] = pkg
from mlx_embeddings.models import bert  # noqa: E402

req = json.load(sys.stdin)
d = req["dir"]
config = json.load(open(os.path.join(d, "config.json")))
model = bert.Model(bert.ModelArgs.from_dict(config))
weights = model.sanitize(mx.load(os.path.join(d, "model.safetensors")))
model.load_weights([(k.split(".", 1)[1] if k.startswith("bert.") else k, v) for k, v in weights.items()], strict=True)
model.eval()
tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))


def embed_all(texts):
    ids = [e.ids[:512] for e in tok.encode_batch(texts)]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out = [None] * len(ids)
    for s in range(0, len(order), req["batch"]):
        rows = order[s : s + req["batch"]]
        width = max(len(ids[i]) for i in rows)
        x = mx.array([ids[i] + [0] * (width - len(ids[i])) for i in rows])
        mask = mx.array([[1] * len(ids[i]) + [0] * (width - len(ids[i])) for i in rows])
        h = model(x, attention_mask=mask)
        h = h.last_hidden_state if hasattr(h, "last_hidden_state") else h[0] if isinstance(h, (tuple, list)) else h
        m = mask[..., None].astype(h.dtype)
        pooled = (h * m).sum(1) / m.sum(1)
        pooled = pooled / mx.linalg.norm(pooled, axis=-1, keepdims=True)
        mx.eval(pooled)
        for j, i in enumerate(rows):
            out[i] = pooled[j]
    return out


embed_all(req["texts"][:8])  # warm-up
best = float("inf")
for _ in range(req["runs"]):
    t = time.perf_counter()
    vecs = embed_all(req["texts"])
    best = min(best, time.perf_counter() - t)
print(json.dumps({"seconds": best, "dims": int(vecs[0].shape[0])}))
