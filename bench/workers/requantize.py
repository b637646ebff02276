# Makes the MLX 4-bit form of a model the way `mlx_lm.convert -q --dtype DTYPE` does: weights cast to DTYPE,
# then affine 4-bit, group 64, by mlx-lm's quantize_model. mlx-community ships bfloat16 (the HF torch_dtype), the
# right choice on a GPU; on MLX's CPU backend bfloat16 quantized_matmul is 5-16x slower than float32 (measured
# here), so the CPU run uses float32, for ollmlx and mlx-lm alike (same directory).
# The input is ollmlx's own GGUF conversion (src/formats/gguf/convert.ts), which keeps llama.cpp's mixed
# quantization (group 32, some tensors 6 or 8 bits); it is dequantized first, as `mlx_lm.convert --dequantize` does.
#   python3 requantize.py CONVERTED_DIR OUT_DIR float32|bfloat16
import sys
import mlx.core as mx
from mlx.utils import tree_map
from mlx_lm.utils import dequantize_model, load, quantize_model, save

src, out, dtype_name = sys.argv[1], sys.argv[2], sys.argv[3]
dtype = getattr(mx, dtype_name)
model, tokenizer, config = load(src, return_config=True)
model = dequantize_model(model)
config.pop("quantization", None)
config.pop("quantization_config", None)
model.update(tree_map(lambda v: v.astype(dtype) if mx.issubdtype(v.dtype, mx.floating) else v, model.parameters()))
config["torch_dtype"] = dtype_name
model, config = quantize_model(model, config, 64, 4)
save(out, src, model, tokenizer, config)
