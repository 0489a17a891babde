"""``logic-claims train --plan``: memory per GPU for a run, before any weight is loaded.

The model's shapes come from its ``config.json`` (a local directory) or from
:data:`SHAPES` (the study's Llama-2 models); the parameters, the adapter's trainable ones
and the largest single module are counted on a model built on torch's ``meta`` device
(shapes, no memory, no weights) with the run's PEFT method applied.

Model states follow DeepSpeed's estimators (``estimate_zero2_model_states_mem_needs``
and ``estimate_zero3_model_states_mem_needs``, with ``zero_init`` as
``ds_zero3_cpu.yaml`` sets it), which assume mixed precision (fp16/bf16) and every
parameter trained: per parameter 2 bytes of 16-bit weights, and for a trained one 18
more (16-bit and 32-bit gradients, 32-bit master weights, Adam's two moments), which
ZeRO-2 partitions over the GPUs and ZeRO-3 partitions with the weights. An adapter run
trains T of its P parameters; the frozen ones keep only their 16-bit weights, so
:func:`model_states` puts T where a trained-parameter term is and P where a weight term is.
With T = P it is DeepSpeed's own formula, number for number (tests/test_scale_out.py).
Stage 0 is plain data parallelism (ZeRO-2's formula on one GPU: nothing partitioned).

Activations per GPU follow Korthikanti et al. 2022 ("Reducing Activation Recomputation in
Large Transformer Models", sec. 4.1): ``s * b * h * (34 + 5 * a * s / h)`` bytes a layer
in 16 bits, for sequence length s (``max_length``), micro-batch b (``batch_size``), hidden
size h and a attention heads; with gradient checkpointing, ``2 * s * b * h`` a layer plus
one layer's full set. The LM head's logits are left out: the trainer computes them only at
answer tokens.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from logic_claims.adapters.config import TrainConfig
from logic_claims.tasks.errors import InputError

BUFFER = 1.5  # DeepSpeed's additional_buffer_factor for CPU memory
GIB = 1024**3
_LLAMA2 = {"model_type": "llama", "vocab_size": 32000, "tie_word_embeddings": False}
SHAPES: dict[str, dict[str, Any]] = {
    "llama-2-7b": {**_LLAMA2, "hidden_size": 4096, "intermediate_size": 11008,
                   "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32},
    "llama-2-13b": {**_LLAMA2, "hidden_size": 5120, "intermediate_size": 13824,
                    "num_hidden_layers": 40, "num_attention_heads": 40, "num_key_value_heads": 40},
    "llama-2-70b": {**_LLAMA2, "hidden_size": 8192, "intermediate_size": 28672,
                    "num_hidden_layers": 80, "num_attention_heads": 64, "num_key_value_heads": 8},
}  # fmt: skip
# (stage, offload) rows of the plan: what ds_zero3_cpu.yaml's options can say
LAYOUTS = (
    (0, "none"),
    (2, "none"),
    (2, "optimizer"),
    (3, "none"),
    (3, "optimizer"),
    (3, "optimizer+params"),
)


def shape_key(name: str) -> str:
    """``meta-llama/Llama-2-7b-chat-hf`` -> ``llama-2-7b`` (the table's key), else ``name``."""
    key = name.lower().rsplit("/", 1)[-1]
    for suffix in ("-chat-hf", "-hf", "-chat"):
        key = key.removesuffix(suffix)
    return key


def model_config(base_model: str) -> tuple[Any, str]:
    """The base model's transformers config (no weights) and where it came from."""
    from transformers import AutoConfig, LlamaConfig

    from logic_claims.tasks.models import resolve_model

    key = shape_key(base_model)
    if key in SHAPES:
        fields = {k: v for k, v in SHAPES[key].items() if k != "model_type"}
        return LlamaConfig(**fields), f"built-in shapes of {key}"
    path = Path(resolve_model(base_model))
    if not (path / "config.json").is_file():
        known = ", ".join(SHAPES)
        raise InputError(
            f"--plan: no config.json for base model {base_model!r}; give a local model "
            f"directory with one, or a model of the built-in table ({known})"
        )
    return AutoConfig.from_pretrained(path), str(path / "config.json")


def count_parameters(cfg: TrainConfig, config: Any) -> dict[str, int]:
    """Total, trainable (the adapter's) and largest-module parameters, on the meta device."""
    import torch
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM

    from logic_claims.adapters.methods import peft_config

    # Text initialisation needs the tokenizer; random has the same shapes.
    shapes_only = dataclasses.replace(cfg, prompt_init="random")
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
        total = sum({id(p): p.numel() for p in model.parameters()}.values())
        largest = max(sum(p.numel() for p in m.parameters(recurse=False)) for m in model.modules())
        peft_model = get_peft_model(model, peft_config(shapes_only, ""))
        trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    return {"total": total + trainable, "trainable": trainable, "largest_layer": largest}


def model_states(
    total: int,
    trainable: int,
    largest_layer: int,
    stage: int,
    offload: str,
    gpus_per_node: int,
    nodes: int,
) -> tuple[int, int]:
    """(bytes per GPU, bytes of CPU memory per node) for the model states.

    DeepSpeed's estimators with ``trainable`` in the trained-parameter terms; with
    ``trainable == total`` exactly ``estimate_zero2_model_states_mem_needs`` (stages 0
    and 2) and ``estimate_zero3_model_states_mem_needs(zero_init=True)`` (stage 3).
    """
    p, t, big = total, trainable, largest_layer
    gpus = gpus_per_node * nodes
    if stage in (0, 2):
        n = gpus if stage == 2 else 1  # stage 0 partitions nothing
        if offload == "none":
            return 2 * p + int(18 * t / n), int(p * 4 * gpus_per_node * BUFFER)
        return 2 * p, int(max(4 * gpus * p, 16 * t) * BUFFER)
    frozen = p - t
    if offload == "optimizer+params":
        return 4 * big, int((2 * frozen + 18 * t) / nodes * BUFFER)
    if offload == "optimizer":
        return 4 * big + int(2 * p / gpus), int(16 * t / nodes * BUFFER)
    return 4 * big + int((2 * frozen + 18 * t) / gpus), int(big * 4 * gpus_per_node * BUFFER)


def activations(cfg: TrainConfig, config: Any) -> int:
    """Bytes of activations per GPU for one micro-batch (Korthikanti et al. 2022)."""
    s, b = cfg.max_length, cfg.batch_size
    h, a = config.hidden_size, config.num_attention_heads
    layer = s * b * h * (34 + 5 * a * s / h)
    if cfg.gradient_checkpointing:
        return int(2 * s * b * h * config.num_hidden_layers + layer)
    return int(layer * config.num_hidden_layers)


def plan(cfg: TrainConfig, gpus_per_node: int, nodes: int) -> dict[str, Any]:
    """The plan as a dict: sizes, and one row per (stage, offload) layout."""
    config, source = model_config(cfg.base_model)
    counts = count_parameters(cfg, config)
    act = activations(cfg, config)
    rows = []
    for stage, offload in LAYOUTS:
        gpu, cpu = model_states(
            counts["total"], counts["trainable"], counts["largest_layer"],
            stage, offload, gpus_per_node, nodes,
        )  # fmt: skip
        rows.append(
            {
                "zero_stage": stage,
                "offload": offload,
                "model_states_per_gpu_bytes": gpu,
                "activations_per_gpu_bytes": act,
                "total_per_gpu_bytes": gpu + act,
                "cpu_per_node_bytes": cpu,
            }
        )
    return {
        "base_model": cfg.base_model,
        "shapes_from": source,
        "method": cfg.method,
        "gpus_per_node": gpus_per_node,
        "nodes": nodes,
        "micro_batch": cfg.batch_size,
        "sequence_length": cfg.max_length,
        "gradient_checkpointing": cfg.gradient_checkpointing,
        "parameters": counts,
        "rows": rows,
    }


def format_plan(result: dict[str, Any]) -> str:
    """The plan as a table (GiB), with what it assumes."""
    c = result["parameters"]
    lines = [
        f"{result['method']} on {result['base_model']} ({result['shapes_from']}): "
        f"{c['total'] / 1e6:,.1f}M parameters, {c['trainable'] / 1e6:,.3f}M trained, "
        f"largest module {c['largest_layer'] / 1e6:,.1f}M",
        f"{result['nodes']} node(s) x {result['gpus_per_node']} GPU(s); micro-batch "
        f"{result['micro_batch']} x {result['sequence_length']} tokens; mixed precision "
        "(fp16/bf16) as DeepSpeed's estimators assume",
        "",
        "| ZeRO | offload | model states / GPU | activations / GPU | total / GPU | CPU / node |",
        "|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        gib = [
            r[k] / GIB
            for k in (
                "model_states_per_gpu_bytes",
                "activations_per_gpu_bytes",
                "total_per_gpu_bytes",
                "cpu_per_node_bytes",
            )
        ]
        lines.append(
            f"| {r['zero_stage']} | {r['offload']} | "
            + " | ".join(f"{g:.2f} GiB" for g in gib)
            + " |"
        )
    lines.append("")
    lines.append("Model states: DeepSpeed's estimators with the adapter's trained parameters;")
    lines.append("activations: Korthikanti et al. 2022 (no LM-head logits). See adapters/plan.py.")
    return "\n".join(lines)


def plan_json(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=2)
