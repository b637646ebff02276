# The fine-tuning peer: mlx-lm's own LoRA trainer (mlx_lm.tuner.trainer.train, what `mlx_lm.lora` runs) on the same
# model directory, rows and settings as bench/finetune.ts gives ollmlx: the base dequantized (ollmlx trains over
# float32 weights on the CPU), every Linear of the last 16 blocks at rank 8 / scale 20, Adam, batches of 4.
# stdin: {"dir", "rows", "iters", "learning_rate", "adapter_file"}; stdout: mlx-lm's last train report (tokens/s,
# peak memory) and the wall time.
import json, sys, time

import mlx.core as mx
import mlx.optimizers as optim
from mlx_lm import load
from mlx_lm.tuner.datasets import CacheDataset, ChatDataset
from mlx_lm.tuner.trainer import TrainingArgs, TrainingCallback, train
from mlx_lm.tuner.utils import linear_to_lora_layers
from mlx_lm.utils import dequantize_model

req = json.load(sys.stdin)
mx.set_default_device(mx.cpu)
model, tokenizer = load(req["dir"])
model = dequantize_model(model)
model.freeze()
linear_to_lora_layers(model, 16, {"rank": 8, "scale": 20.0, "dropout": 0.0})
data = CacheDataset(ChatDataset(req["rows"], tokenizer, mask_prompt=True))


class Reports(TrainingCallback):
    def __init__(self):
        self.last = None

    def on_train_loss_report(self, info):
        self.last = info


reports = Reports()
args = TrainingArgs(batch_size=4, iters=req["iters"], steps_per_report=req["iters"], steps_per_eval=10**9, adapter_file=req["adapter_file"])
mx.reset_peak_memory()
t0 = time.perf_counter()
train(model, optim.Adam(learning_rate=req["learning_rate"]), data, None, args=args, training_callback=reports)
print(json.dumps({**reports.last, "seconds": time.perf_counter() - t0, "peak_memory_bytes": mx.get_peak_memory()}))
