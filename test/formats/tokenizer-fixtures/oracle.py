# The reference side of the tokenizer tests: transformers + mlx-lm, fed one JSON request on stdin.
# Requests: {"dir": model dir, "chats": [...], "encode": [texts], "detokenize": [[ids]]}.
# A dir with only tokenizer_config.json gets its chats rendered by the function apply_chat_template
# calls (render_jinja_template), with the named special tokens as apply_chat_template passes them.
import json
import os
import sys
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_VERBOSITY"] = "error"

from mlx_lm.tokenizer_utils import load as load_mlx_tokenizer  # noqa: E402

from transformers.utils.chat_template_utils import (  # noqa: E402
    _normalize_chat_messages,
    render_jinja_template,
)

SPECIAL_TOKENS = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"]


def render_from_config(config, chat):
    special = {}
    for key in SPECIAL_TOKENS:
        value = config.get(key)
        if value:
            special[key] = value if isinstance(value, str) else value["content"]
    rendered, _ = render_jinja_template(
        conversations=[_normalize_chat_messages(chat["messages"])],
        tools=chat.get("tools"),
        chat_template=config["chat_template"],
        add_generation_prompt=chat.get("add_generation_prompt", False),
        **{**special, **chat.get("kwargs", {})},
    )
    return rendered[0]


req = json.load(sys.stdin)
model_dir = Path(req["dir"])
if not (model_dir / "tokenizer.json").exists():
    config = json.loads((model_dir / "tokenizer_config.json").read_text())
    json.dump({"chats": [render_from_config(config, c) for c in req.get("chats", [])]}, sys.stdout, ensure_ascii=False)
    sys.exit(0)

wrapper = load_mlx_tokenizer(model_dir)
tok = wrapper._tokenizer
out = {"detokenizer": type(wrapper._detokenizer).__name__, "eos_token_ids": sorted(wrapper.eos_token_ids)}

out["chats"] = [
    tok.apply_chat_template(
        c["messages"],
        tools=c.get("tools"),
        add_generation_prompt=c.get("add_generation_prompt", False),
        tokenize=False,
        **c.get("kwargs", {}),
    )
    for c in req.get("chats", [])
]

out["encode"] = []
for text in req.get("encode", []):
    ids = tok.encode(text)
    out["encode"].append(
        {
            "ids": ids,
            "ids_no_special": tok.encode(text, add_special_tokens=False),
            "decoded": tok.decode(ids),
            "decoded_skip": tok.decode(ids, skip_special_tokens=True),
        }
    )

out["detokenize"] = []
for ids in req.get("detokenize", []):
    d = wrapper.detokenizer
    segments = []
    for i in ids:
        d.add_token(i)
        segments.append(d.last_segment)
    d.finalize()
    segments.append(d.last_segment)
    out["detokenize"].append({"segments": segments, "decoded": tok.decode(ids)})

json.dump(out, sys.stdout, ensure_ascii=False)
