# Builds a random-weight model with SmolLM2-135M's exact shape (llama: hidden 576, 30 layers, 9 heads,
# 3 KV heads, MLP 1536, vocab 49152, tied embeddings), quantized 4-bit (group 64) like mlx-community's
# SmolLM2-135M-Instruct-4bit, in the mlx-community layout. Speed does not depend on the weights' values.
#   python3 make_bench_model.py OUT_DIR TOKENIZER_DIR [bits|0]
import os, shutil, sys
import mlx.core as mx
import mlx.nn as nn
from mlx_lm.models import llama
from mlx_lm.utils import save_config, save_model

out, tok_dir = sys.argv[1], sys.argv[2]
bits = int(sys.argv[3]) if len(sys.argv) > 3 else 4
mx.random.seed(0)
args = llama.ModelArgs(
    model_type="llama", hidden_size=576, num_hidden_layers=30, intermediate_size=1536,
    num_attention_heads=9, num_key_value_heads=3, rms_norm_eps=1e-5, vocab_size=49152,
    rope_theta=100000, tie_word_embeddings=True, max_position_embeddings=8192,
)
model = llama.Model(args)
mx.eval(model.parameters())
config = dict(args.__dict__)
if bits:
    nn.quantize(model, group_size=64, bits=bits)
    config["quantization"] = {"group_size": 64, "bits": bits, "mode": "affine"}
    config["quantization_config"] = config["quantization"]
os.makedirs(out, exist_ok=True)
save_model(out, model)
save_config(config, os.path.join(out, "config.json"))
for f in os.listdir(tok_dir):
    shutil.copy(os.path.join(tok_dir, f), out)
