"""What a prompt-tuning adapter learned, read in the vocabulary (``logic-claims interpret``).

A prompt-tuning adapter is a few vectors in the base model's input-embedding space, put
before every prompt. Following Lester et al. (2021, "The Power of Scale for
Parameter-Efficient Prompt Tuning", section 7), each virtual token is read as its
nearest vocabulary tokens by cosine similarity to the rows of the base model's input
embedding matrix. Where the adapter was initialised from text (PEFT's
``prompt_tuning_init: TEXT``), the initial vectors are recomputed exactly as PEFT made
them (the text's token ids, cut or repeated to the number of virtual tokens, looked up
in the same matrix), and each virtual token's cosine to its own initial vector says how
far training moved it: 1.0 is not at all.

Prefix tuning, LoRA and IA3 change the model's keys, values or weights inside its layers;
they have no vectors in the input space, and are refused with one line.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from logic_claims.adapters.inputs import another_base, check_adapter_width
from logic_claims.tasks.errors import InputError, clip
from logic_claims.tasks.io import parse_json, read_text

PROMPT_TUNING = "PROMPT_TUNING"
# Why each other PEFT type has nothing to read in the vocabulary.
NO_INPUT_TOKENS = {
    "PREFIX_TUNING": "prefix tuning learns keys and values inside every layer",
    "P_TUNING": "p-tuning's virtual tokens come out of a prompt encoder network",
    "LORA": "LoRA changes the model's weight matrices",
    "IA3": "IA3 rescales the model's activations",
}
WEIGHT_FILES = ("adapter_model.safetensors", "adapter_model.bin")
DEFAULT_TOP_K = 5
MAX_TOP_K = 1000


@dataclass(frozen=True)
class Neighbour:
    """One vocabulary token near a virtual token."""

    token_id: int
    token: str  # the token decoded as text (" whether": with its leading space)
    cosine: float


@dataclass(frozen=True)
class VirtualToken:
    """One virtual token: its nearest vocabulary tokens, and where it started."""

    index: int
    neighbours: tuple[Neighbour, ...]
    init_token_id: int | None = None  # the init text's token this vector started as
    init_token: str | None = None
    cosine_to_init: float | None = None  # 1.0: training did not move it


@dataclass(frozen=True)
class Interpretation:
    """A prompt-tuning adapter read in its base model's vocabulary."""

    adapter: str
    base_model: str
    num_virtual_tokens: int
    init: str  # PEFT's prompt_tuning_init: TEXT, RANDOM or SAMPLE_VOCAB
    init_text: str | None
    vocabulary_size: int
    tokens: tuple[VirtualToken, ...]

    @property
    def reads_back_init(self) -> int | None:
        """How many virtual tokens' nearest token is still their init token (TEXT init)."""
        if self.init_text is None:
            return None
        return sum(t.neighbours[0].token_id == t.init_token_id for t in self.tokens)

    @property
    def mean_cosine_to_init(self) -> float | None:
        values = [t.cosine_to_init for t in self.tokens if t.cosine_to_init is not None]
        return sum(values) / len(values) if values else None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["reads_back_init"] = self.reads_back_init
        out["mean_cosine_to_init"] = self.mean_cosine_to_init
        return out


def read_adapter_config(adapter: str | Path) -> dict[str, Any]:
    """The adapter's ``adapter_config.json``, refused unless it is a prompt-tuning adapter."""
    path = Path(adapter) / "adapter_config.json"
    if not path.is_file():
        raise InputError("not a PEFT adapter directory (no adapter_config.json)", adapter)
    config = parse_json(read_text(path), path)
    if not isinstance(config, dict) or not isinstance(config.get("peft_type"), str):
        raise InputError("not a PEFT adapter config (no peft_type)", path)
    kind = config["peft_type"]
    if kind != PROMPT_TUNING:
        why = NO_INPUT_TOKENS.get(kind, "it is not prompt tuning")
        raise InputError(
            f"a {kind} adapter has no virtual tokens in the input space to read ({why}); "
            "interpret reads prompt-tuning adapters",
            adapter,
        )
    for key in ("num_virtual_tokens", "token_dim"):
        value = config.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"{key} must be a positive integer, got {clip(value)}", path)
    return config


def _prompt_vectors(adapter: Path, config: dict[str, Any]) -> Any:
    """The trained virtual-token vectors, ``[total virtual tokens, token_dim]`` (float32)."""
    from peft.utils import load_peft_weights

    if not any((adapter / n).is_file() for n in WEIGHT_FILES):
        raise InputError("no adapter_model.safetensors (a config without weights)", adapter)
    try:
        weights = load_peft_weights(str(adapter), device="cpu")
    except Exception as exc:  # a truncated or foreign weights file
        why = clip(str(exc), 100)
        raise InputError(f"cannot read the adapter's weights ({why})", adapter) from exc
    vectors = weights.get("prompt_embeddings")
    total = config["num_virtual_tokens"] * int(config.get("num_transformer_submodules") or 1)
    if vectors is None or tuple(vectors.shape) != (total, config["token_dim"]):
        shape = None if vectors is None else tuple(vectors.shape)
        raise InputError(
            f"prompt_embeddings of shape {shape}; the config says ({total}, {config['token_dim']})",
            adapter,
        )
    return vectors.float()


def base_model_of(adapter: str | Path, config: dict[str, Any], model: str | None) -> str:
    """``model`` if given, else the base the adapter records; a local path or an embedded
    model (a hub id that is not on this machine: say to pass ``--model``)."""
    from logic_claims.tasks.models import resolve_model

    recorded = config.get("base_model_name_or_path")
    name = model or recorded
    if not isinstance(name, str) or not name.strip():
        raise InputError("the adapter records no base model; name it with --model", adapter)
    path = resolve_model(name)
    if Path(path).is_dir():
        if not (Path(path) / "config.json").is_file():
            raise InputError("base model directory has no config.json", path)
        return path
    from transformers import AutoConfig

    try:  # a hub id: from the local cache only when offline
        AutoConfig.from_pretrained(path)
    except (OSError, ValueError) as exc:
        option = "--model" if model else "the adapter's base_model_name_or_path"
        raise InputError(
            f"base model {clip(path)} ({option}) is not on this machine; "
            "name a local copy with --model",
            adapter,
        ) from exc
    return path


def _init_token_ids(config: dict[str, Any], tokenizer: Any, total: int) -> list[int] | None:
    """The token ids PEFT initialised the virtual tokens from, or None (not TEXT init)."""
    text = config.get("prompt_tuning_init_text")
    if config.get("prompt_tuning_init") != "TEXT" or not isinstance(text, str) or not text:
        return None
    ids = list(tokenizer(text, **(config.get("tokenizer_kwargs") or {}))["input_ids"])
    if not ids:
        return None
    # PEFT's rule (peft/tuners/prompt_tuning/model.py): cut, or repeat and cut.
    return (ids * math.ceil(total / len(ids)))[:total]


def interpret(
    adapter: str | Path, model: str | None = None, top_k: int = DEFAULT_TOP_K
) -> Interpretation:
    """Read a prompt-tuning adapter: each virtual token's ``top_k`` nearest vocabulary tokens
    by cosine similarity, and (TEXT init) its cosine to its initial vector.

    ``model``: the base model (embedded name, directory or hub id) when the adapter's
    recorded one is not on this machine. InputError for anything but a prompt-tuning
    adapter, an adapter of another base (embedding width), ``top_k`` outside 1..1000.
    """
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        raise InputError(f"--top-k must be an integer from 1 to {MAX_TOP_K}, got {clip(top_k)}")
    adapter = Path(adapter)
    config = read_adapter_config(adapter)
    vectors = _prompt_vectors(adapter, config)
    base = base_model_of(adapter, config, model)
    check_adapter_width(adapter, base)

    import torch
    import torch.nn.functional as F
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base)
    lm = AutoModelForCausalLM.from_pretrained(base, dtype="auto", low_cpu_mem_usage=True)
    table = lm.get_input_embeddings().weight.detach().float()
    del lm
    if table.shape[1] != vectors.shape[1]:  # a config without hidden_size
        raise another_base(adapter, vectors.shape[1], base, table.shape[1])
    # Rows past the tokenizer's vocabulary are padding, not tokens.
    table = table[: min(table.shape[0], len(tokenizer))]
    similarity = F.normalize(vectors, dim=-1) @ F.normalize(table, dim=-1).T
    best = torch.topk(similarity, k=min(top_k, table.shape[0]), dim=-1)
    init_ids = _init_token_ids(config, tokenizer, vectors.shape[0])
    if init_ids is not None and max(init_ids) >= table.shape[0]:
        init_ids = None  # a tokenizer of another vocabulary: no initial vectors to compare
    tokens = []
    for n in range(vectors.shape[0]):
        neighbours = tuple(
            Neighbour(int(i), tokenizer.decode([int(i)]), round(float(c), 6))
            for c, i in zip(best.values[n], best.indices[n], strict=True)
        )
        start = None if init_ids is None else init_ids[n]
        tokens.append(
            VirtualToken(
                index=n,
                neighbours=neighbours,
                init_token_id=start,
                init_token=None if start is None else tokenizer.decode([start]),
                cosine_to_init=None
                if start is None
                else round(float(F.cosine_similarity(vectors[n], table[start], dim=0)), 6),
            )
        )
    return Interpretation(
        adapter=str(adapter),
        base_model=base,
        num_virtual_tokens=vectors.shape[0],
        init=str(config.get("prompt_tuning_init") or "RANDOM"),
        init_text=config.get("prompt_tuning_init_text") if init_ids is not None else None,
        vocabulary_size=table.shape[0],
        tokens=tuple(tokens),
    )
