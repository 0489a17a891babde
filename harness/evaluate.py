"""``logic-claims eval``: lm-eval's ``simple_evaluate`` on the logic_claims tasks.

Same tasks, same metrics and same output files as
``lm_eval --model hf --model_args pretrained=M[,peft=A] --tasks logic_claims --include_path tasks``;
the wrapper skips indexing lm-eval's ~10k built-in tasks (15-20 s a run), resolves
embedded model names, runs the fast path (:mod:`logic_claims.harness.fast_lm`, backend
``hf-fast``: merged adapters, a shared-prefix cache, logits only where scored, a larger
generation batch; ``--backend hf`` is lm-eval's own), keeps lm-eval's and transformers'
messages in a log file (:mod:`logic_claims.harness.quiet`) and prints the tables.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from logic_claims.adapters.inputs import check_adapter_width
from logic_claims.tasks import TASKS_DIR, launch
from logic_claims.tasks.errors import InputError, clip
from logic_claims.tasks.models import DEFAULT_MODEL

DEFAULT_TASKS = ("logic_claims",)
DEFAULT_BACKEND = "hf-fast"  # harness/fast_lm.py; "hf" is lm-eval's plain HFLM
DEFAULT_BATCH = {"hf": 8}  # other backends choose their own (hf-fast: fast_lm.GEN_BATCH)


def task_manager(data_dir: str | Path | None = None) -> Any:
    """lm-eval's TaskManager over this project's tasks only."""
    from lm_eval.tasks import TaskManager

    metadata = {"data_dir": str(Path(data_dir).resolve())} if data_dir else None
    return TaskManager(include_path=str(TASKS_DIR), include_defaults=False, metadata=metadata)


def task_requests(task: str, limit: int | None = None, data_dir: str | Path | None = None) -> list:
    """lm-eval's request Instances of every subtask of ``task`` (``limit`` per subtask).

    What ``simple_evaluate`` would give a model, for benchmarks and tests that call the
    model's ``loglikelihood``/``generate_until`` directly. Each instance carries its Task as
    ``instance.task`` (for ``process_results`` and ``doc_to_target``).
    """
    instances = []
    for subtask in task_manager(data_dir).load([task])["tasks"].values():
        subtask.build_all_requests(limit=limit, rank=0, world_size=1)
        for instance in subtask.instances:
            instance.task = subtask
        instances += subtask.instances
    return instances


def is_adapter(path: str | Path) -> bool:
    """Whether ``path`` is a PEFT adapter directory (it holds ``adapter_config.json``)."""
    return (Path(path) / "adapter_config.json").is_file()


def check_adapter(peft: str | Path | None) -> None:
    """InputError unless ``peft`` is None or a PEFT adapter directory (before a model loads)."""
    if peft is not None and not is_adapter(peft):
        raise InputError("not a PEFT adapter directory (no adapter_config.json)", peft)


# What holds a Hugging Face model's weights (sharded ones have an index beside them).
WEIGHT_FILES = ("*.safetensors", "*.bin", "*.gguf", "*.pt", "*.pth", "*.msgpack", "*.h5")


def check_model(model: str | None, model_args: dict[str, Any] | None = None) -> None:
    """InputError unless ``model`` can be a model: an embedded name, a directory with a
    ``config.json``, or a hub id (offline: one in the Hugging Face cache); and
    ``model_args``' dtype names a torch dtype. Before any model loads."""
    import os

    from logic_claims.tasks.models import EMBEDDED_MODELS

    name = model or DEFAULT_MODEL
    for key in ("dtype", "torch_dtype"):
        value = (model_args or {}).get(key)
        if value is not None and not _is_dtype(value):
            raise InputError(
                f"--model-args {key}: not a torch dtype (auto, float32, bfloat16, float16, ...), "
                f"got {clip(value)}"
            )
    if name in EMBEDDED_MODELS:
        return
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise InputError("not a model directory (no config.json)", name)
        if not any(any(path.glob(pattern)) for pattern in WEIGHT_FILES):
            raise InputError(f"not a model directory (no weights: {', '.join(WEIGHT_FILES)})", name)
        return
    if path.exists():
        raise InputError("is a file; give a model directory, an embedded name or a hub id", name)
    if name.startswith(("/", ".", "~")) or name.count("/") > 1:
        raise InputError("no such model directory", name)
    from huggingface_hub import try_to_load_from_cache
    from huggingface_hub.utils import HFValidationError

    try:
        cached = try_to_load_from_cache(name, "config.json")
    except HFValidationError as exc:
        raise InputError("not a model directory, an embedded model or a hub id", name) from exc
    if not isinstance(cached, str) and os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0"):
        raise InputError(
            "not a local directory, and not in the Hugging Face cache (HF_HUB_OFFLINE is set)",
            name,
        )


def _is_dtype(value: object) -> bool:
    import torch

    if value == "auto":
        return True
    return isinstance(value, str) and isinstance(getattr(torch, value, None), torch.dtype)


def build_lm(
    model: str | None,
    *,
    peft: str | Path | None = None,
    backend: str = DEFAULT_BACKEND,
    device: str | None = None,
    batch_size: int | str | None = None,
    model_args: dict[str, Any] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """lm-eval's model as ``lm_eval --model BACKEND --model_args ...`` builds it, and its args.

    ``model``: an embedded model name, a local directory or a hub id; ``peft``: an adapter
    directory; ``device`` None: CUDA when there is one, else the CPU (lm-eval's hf backend
    assumes CUDA); ``batch_size`` None: the backend's own (8 for ``hf``). One model
    resolution for ``eval``, ``compare`` and ``annotate judge``.
    """
    from lm_eval.api.registry import get_model
    from lm_eval.models.api_models import TemplateAPI

    from logic_claims.harness import fast_lm  # noqa: F401 (registers hf-fast)
    from logic_claims.tasks.models import resolve_model

    try:
        model_class = get_model(backend)
    except ValueError as exc:
        raise InputError(
            f"--backend {clip(backend)}: not an lm-eval model backend "
            "(those of `lm_eval --model`: hf-fast, hf, vllm, ...)"
        ) from exc
    # An API backend (local-chat-completions, ...) names the server's model: nothing local.
    served = isinstance(model_class, type) and issubclass(model_class, TemplateAPI)
    if not served:
        check_model(model, model_args)
    resolved = (model or DEFAULT_MODEL) if served else resolve_model(model)
    args: dict[str, Any] = {"pretrained": resolved, **(model_args or {})}
    check_adapter(peft)
    if peft is not None:
        if not served:
            check_adapter_width(peft, args["pretrained"])
        args["peft"] = str(peft)
    import torch

    if backend == "hf" and launch.world_size() > 1 and not torch.cuda.is_available():
        raise InputError(
            f"--backend hf under {launch.world_size()} processes on a machine without a GPU: "
            "lm-eval's hf splits the documents only across GPUs, so every process would "
            "evaluate all of them; use --backend hf-fast (the default), or one process"
        )
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if batch_size is None:
        batch_size = DEFAULT_BATCH.get(backend)
    extra = {"batch_size": batch_size, "device": device} if batch_size else {"device": device}
    try:
        return model_class.create_from_arg_obj(args, extra), args
    except RuntimeError as exc:
        if peft is None or "size mismatch" not in str(exc):
            raise
        raise InputError(
            f"--peft {peft}: its weights do not fit {model or DEFAULT_MODEL} (size mismatch; "
            "an adapter of another base model?)"
        ) from exc


def run_eval(
    model: str | None,
    *,
    peft: str | Path | None = None,
    tasks: Sequence[str] = DEFAULT_TASKS,
    limit: int | float | None = None,
    output_dir: str | Path | None = None,
    batch_size: int | str | None = None,
    apply_chat_template: bool = False,
    gen_kwargs: dict[str, Any] | None = None,
    model_args: dict[str, Any] | None = None,
    backend: str = DEFAULT_BACKEND,
    device: str | None = None,
    data_dir: str | Path | None = None,
    log_samples: bool = True,
) -> dict[str, Any]:
    """Run lm-eval and return its results dict (with ``samples`` when ``log_samples``).

    ``model`` is an embedded model name, a local directory or a hub id. ``limit`` is
    lm-eval's: per subtask (each quantifier), an int count or a float fraction.
    With ``output_dir``, writes lm-eval's own files there (``results_*.json`` and
    ``samples_<task>_*.jsonl``), exactly what ``lm_eval --output_path --log_samples`` writes.
    ``batch_size`` None: the backend's own (8 for ``hf``).
    """
    from lm_eval import simple_evaluate
    from lm_eval.loggers import EvaluationTracker

    from logic_claims.harness import quiet

    if data_dir is not None:  # each record checked (file:line) before lm-eval reads it
        from logic_claims.tasks.data import check_datasets

        check_datasets(data_dir)
    manager = task_manager(data_dir)
    unknown = [t for t in tasks if t not in manager.all_tasks]
    if unknown:
        raise InputError(
            f"unknown task(s) {', '.join(unknown)}; see `logic-claims eval --list-tasks`"
        )
    check_adapter(peft)  # before the progress bar and any model loading
    check_model(model, model_args)
    tracker = EvaluationTracker(output_path=str(output_dir)) if output_dir else None
    name = Path(str(peft or model or DEFAULT_MODEL)).name
    more = f" +{len(tasks) - 1} tasks" if len(tasks) > 1 else ""
    alone = _launch_notices(limit)
    with quiet.quiet_run(f"{name}: {tasks[0]}{more}") as attach:
        lm, args = build_lm(
            model, peft=peft, backend=backend, device=device, batch_size=batch_size,
            model_args=model_args,
        )  # fmt: skip
        if alone:  # every process has joined the launch; the others are done
            if not launch.is_main():
                return {}
            lm._rank, lm._world_size = 0, 1
        lm = attach(lm)
        results = simple_evaluate(
            model=lm,
            model_args=args,
            tasks=list(tasks),
            limit=limit,
            log_samples=log_samples,
            evaluation_tracker=tracker,
            task_manager=manager,
            apply_chat_template=apply_chat_template,
            gen_kwargs=gen_kwargs,
        )
        if results is not None and tracker is not None:
            _save(tracker, results)
    return results or {}  # None on non-zero ranks under accelerate launch


def _launch_notices(limit: int | float | None) -> bool:
    """Say (once) when the launch is not what was asked; whether process 0 goes alone
    (a ``limit`` below the number of processes: :func:`launch.limit_notice`)."""
    below = launch.limit_notice(limit if isinstance(limit, int) else None)
    for message in filter(None, [launch.alone_notice(), below]):
        if launch.is_main():
            print(f"logic-claims eval: notice: {message}", file=sys.stderr, flush=True)
    return below is not None


def _save(tracker: Any, results: dict[str, Any]) -> None:
    """lm-eval's results JSON and per-task samples JSONL, as ``lm_eval --log_samples``."""
    samples = results.get("samples")
    tracker.save_results_aggregated(results=results, samples=samples)
    for task_name in results.get("configs", {}):
        if samples and task_name in samples:
            tracker.save_results_samples(task_name=task_name, samples=samples[task_name])


def format_tables(results: dict[str, Any]) -> str:
    """lm-eval's own markdown tables: per task, then per group."""
    from lm_eval.utils import make_table

    text = make_table(results)
    if results.get("groups"):
        text += "\n" + make_table(results, "groups")
    return text


def parse_kv(text: str | None) -> dict[str, Any]:
    """``a=1,b=x`` -> {"a": 1, "b": "x"} (lm-eval's model_args syntax)."""
    out: dict[str, Any] = {}
    for part in filter(None, (text or "").split(",")):
        key, sep, value = part.partition("=")
        if not sep:
            raise InputError(f"expected key=value, got {part!r}")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def cmd_eval(args: argparse.Namespace) -> None:
    from logic_claims.harness import quiet

    quiet.set_verbose(args.verbose)
    if args.list_tasks:
        manager = task_manager()
        for name in sorted(manager.all_tasks):
            print(name)
        return
    results = run_eval(
        args.model,
        peft=args.peft,
        tasks=[t.strip() for t in args.tasks.split(",") if t.strip()],
        limit=args.limit,
        output_dir=args.output,
        batch_size=args.batch_size,
        apply_chat_template=args.apply_chat_template,
        gen_kwargs=parse_kv(args.gen_kwargs) or None,
        model_args=parse_kv(args.model_args) or None,
        backend=args.backend,
        device=args.device,
        data_dir=args.data_dir,
    )
    if results:
        print(format_tables(results))
        if args.output:
            print(f"results and samples written under {args.output}")
        if not quiet.is_verbose():
            print(f"lm-eval's messages: {quiet.log_path()} (--verbose shows them)")


MAX_BATCH_SIZE = 1 << 20


def limit_value(value: object) -> int | float:
    """lm-eval's limit: a whole count >= 1 (an int) or a fraction in (0, 1).

    Anything else (0, negative, nan, inf, 2.5, a string) is a ValueError saying so.
    """
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if number is not None and isinstance(number, float) and not math.isfinite(number):
        number = None
    if number is None or number <= 0 or (number >= 1 and number != int(number)):
        raise ValueError(
            f"limit must be a positive whole count or a fraction in (0, 1), got {clip(value)}"
        )
    return int(number) if number >= 1 else float(number)


def batch_size_value(value: object) -> int | str:
    """lm-eval's batch size: an int >= 1, ``auto`` or ``auto:N``; else a ValueError."""
    if isinstance(value, str) and re.fullmatch(r"\d+", value.strip()):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_BATCH_SIZE:
        return value
    if isinstance(value, str) and re.fullmatch(r"auto(:[1-9]\d{0,3})?", value.strip()):
        return value.strip()
    raise ValueError(
        f"batch size must be an integer from 1 to {MAX_BATCH_SIZE}, auto or auto:N, "
        f"got {clip(value)}"
    )


def _limit(text: str) -> int | float:
    number: object = text  # neither int nor float: limit_value says what it must be
    for kind in (int, float):
        try:
            number = kind(text)
            break
        except ValueError:
            continue
    try:
        return limit_value(number)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _batch_size(text: str) -> int | str:
    try:
        return batch_size_value(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """The model options of every command that loads a model (``eval``, ``annotate
    judge``, ``ask``): --model, --peft, --backend, --device and --model-args, as lm-eval
    builds it."""
    group = parser.add_argument_group("model", "the model, as lm-eval's registry builds it")
    group.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help="embedded model name, local HF directory or hub id (default: %(default)s)",
    )
    group.add_argument(
        "--peft", metavar="ADAPTER", help="PEFT adapter directory to load on top of --model"
    )
    group.add_argument(
        "--backend",
        default=DEFAULT_BACKEND,
        help="lm-eval model backend: hf-fast (default: lm-eval's hf with merged adapters, "
        "shared-prefix cache, logits only where scored), hf, vllm, ... (must accept pretrained=)",
    )
    group.add_argument("--device", help="device for the hf backend, e.g. cuda:0 (default: auto)")
    group.add_argument("--model-args", help="extra model_args, e.g. dtype=float16,parallelize=True")


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="evaluate a model (and optional PEFT adapter) with lm-eval on the logic_claims tasks",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""\
Run lm-eval's simple_evaluate on the logic_claims tasks and print lm-eval's tables.

Equivalent lm-eval command (slower to start, it indexes every built-in task):
  lm_eval --model hf --model_args pretrained=MODEL[,peft=ADAPTER] \\
          --tasks logic_claims --include_path tasks --log_samples --output_path OUT

Tasks (groups aggregate their subtasks weighted by size):
  logic_claims              generate, study scoring: correct/tie/wrong (test split)
    logic_claims_universal    all + not_all       logic_claims_existential  some + no
    logic_claims_{all,not_all,some,no}
  logic_claims_mc           log-likelihood " True" vs " False": acc
  logic_claims_contrast     contrast split (truth not given by the quantifier), generate
  logic_claims_contrast_mc  contrast split, log-likelihood

examples:
  logic-claims eval --limit 20                         # embedded SmolLM2-135M-Instruct
  logic-claims eval --model meta-llama/Llama-2-7b-chat-hf --peft runs/peft8 \\
      --tasks logic_claims,logic_claims_contrast --output runs/eval/peft8""",
    )
    add_model_options(parser)
    parser.add_argument(
        "--tasks",
        default=",".join(DEFAULT_TASKS),
        help="comma-separated tasks or groups (default: %(default)s)",
    )
    parser.add_argument(
        "--limit",
        type=_limit,
        help="examples per subtask (an int) or a fraction (a float < 1); lm-eval's --limit",
    )
    parser.add_argument("--output", help="directory for lm-eval's results JSON and samples JSONL")
    parser.add_argument(
        "--batch-size",
        type=_batch_size,
        help="lm-eval batch size, 'auto' or 'auto:N' (default: the backend's; hf-fast "
        "generates 32 claims a batch and scores 32 a pass, hf takes 8)",
    )
    parser.add_argument(
        "--apply-chat-template",
        action="store_true",
        help="wrap each prompt in the model's chat template (instruct/chat models)",
    )
    parser.add_argument("--gen-kwargs", help="generation overrides, e.g. max_gen_toks=64")
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="show lm-eval's and transformers' messages and bars (default: in the log file)",
    )
    parser.add_argument(
        "--data-dir",
        help="a directory from `logic-claims data build` (default: build from "
        "$LOGIC_CLAIMS_DATA or the verified download, cached)",
    )
    parser.add_argument("--list-tasks", action="store_true", help="list the task names and exit")
    parser.set_defaults(func=cmd_eval)
