"""An automatic judge: a model rates every item of a store, as one more rater.

For each item and dimension the model reads the prompt of
:mod:`logic_claims.annotations.judge_prompt` (the dimension's question and definition, as
people read them) and gives a verdict:

- ``loglikelihood`` (default): the label whose word (`` yes``/`` no``, or the label's
  name) has the highest log-likelihood after the prompt. Deterministic, one forward pass
  per label, never an unparsable answer.
- ``generate``: greedy generation of a few tokens, the first word parsed as a label;
  a reply that names no label is left unjudged (counted, retried on the next run).

The model is loaded through lm-eval's model registry, the path of ``lm_eval --model
hf|vllm``: embedded names, local directories and hub ids as ``eval`` resolves them, a PEFT
adapter as ``peft=``, any other backend (``--backend vllm``) passed through.

The judgments enter the store as rater ``NAME`` (default from the model, adapter and
method), with what the judge is (model, adapter, backend, method, prompt version,
settings) recorded beside it (``Store.rater_info``). Items are judged in batches and each
batch is one committed transaction; a run skips what this rater already judged, so a
judge killed at any moment continues where it stopped and judges nothing twice.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from logic_claims.annotations.judge_prompt import (
    PROMPT_VERSION,
    judge_prompt,
    label_words,
    parse_verdict,
)
from logic_claims.annotations.records import Dimension, Rating
from logic_claims.annotations.store import Store
from logic_claims.harness.evaluate import DEFAULT_BACKEND, check_adapter, check_model
from logic_claims.tasks.errors import InputError
from logic_claims.tasks.settings import in_range, parse_options

METHODS: tuple[str, ...] = ("loglikelihood", "generate")

# (dimension, claim, answer) -> a label of the dimension, or None (no verdict)
JudgeRequest = tuple[Dimension, str, str]
Decide = Callable[[Sequence[JudgeRequest]], list[str | None]]


@dataclass(frozen=True)
class JudgeSettings:
    """How a judge is run; everything here is recorded with its judgments."""

    model: str
    peft: str | None = None
    backend: str = DEFAULT_BACKEND
    method: str = METHODS[0]
    batch_size: int = field(default=16, metadata=in_range(1, 4096))
    max_gen_toks: int = field(default=8, metadata=in_range(1, 256))
    device: str | None = None
    model_args: dict[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        """Every setting in range, before any model loads; InputError otherwise."""
        if self.method not in METHODS:
            raise InputError(f"--method must be one of {', '.join(METHODS)}, got {self.method!r}")
        parse_options(
            JudgeSettings, {"batch_size": self.batch_size, "max_gen_toks": self.max_gen_toks}
        )
        if not self.model or not self.model.strip():
            raise InputError("--model: give an embedded model name, a directory or a hub id")
        check_adapter(self.peft)
        for key, value in self.model_args.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise InputError(f"--model-args {key}: must be finite, got {value}")
        check_model(self.model, self.model_args)

    def record(self) -> dict[str, Any]:
        """What the store keeps about this judge (its settings in ``annotators``)."""
        return {
            "kind": "model judge",
            "model": self.model,
            "peft": self.peft,
            "backend": self.backend,
            "method": self.method,
            "prompt_version": PROMPT_VERSION,
            "settings": {
                k: v
                for k, v in asdict(self).items()
                if k not in ("model", "peft", "backend", "method", "batch_size", "device")
            },
        }


def default_rater(settings: JudgeSettings) -> str:
    """``judge-<model>[+<adapter>]-<method>``, from the last path parts."""

    def short(text: str) -> str:
        name = Path(text.rstrip("/")).name or text
        return re.sub(r"[^A-Za-z0-9._-]+", "-", name)

    name = short(settings.model)
    if settings.peft:
        name += "+" + short(settings.peft)
    return f"judge-{name}-{'loglik' if settings.method == 'loglikelihood' else 'gen'}"


def load_model(settings: JudgeSettings) -> Any:
    """The judge's lm-eval model (``LM``), built as ``eval`` builds its model
    (:func:`logic_claims.harness.evaluate.build_lm`: embedded names, directories, hub ids,
    ``peft=``, any ``lm_eval --model`` backend)."""
    from logic_claims.harness import quiet
    from logic_claims.harness.evaluate import build_lm

    with quiet.quiet_libraries(f"judge: {settings.model}"):  # loading bars to the log
        lm, _ = build_lm(
            settings.model,
            peft=settings.peft,
            backend=settings.backend,
            device=settings.device,
            batch_size=settings.batch_size,
            model_args=settings.model_args,
        )
    return lm


def model_decider(lm: Any, settings: JudgeSettings) -> Decide:
    """Verdicts from an lm-eval model, by log-likelihood of the label words or generation."""
    from lm_eval.api.instance import Instance

    def by_loglikelihood(requests: Sequence[JudgeRequest]) -> list[str | None]:
        instances, owners = [], []
        for n, (dim, claim, answer) in enumerate(requests):
            context = judge_prompt(dim, claim, answer)
            for choice in label_words(dim):
                args = (context, " " + choice.word)
                instances.append(Instance("loglikelihood", {}, args, idx=len(owners)))
                owners.append((n, choice.label))
        scores = lm.loglikelihood(instances, disable_tqdm=True)
        best: dict[int, tuple[float, str]] = {}
        for (n, label), (logprob, _) in zip(owners, scores, strict=True):
            if n not in best or logprob > best[n][0]:
                best[n] = (logprob, label)
        return [best[n][1] for n in range(len(requests))]

    def by_generation(requests: Sequence[JudgeRequest]) -> list[str | None]:
        gen = {"until": ["\n"], "max_gen_toks": settings.max_gen_toks, "do_sample": False}
        instances = [
            Instance("generate_until", {}, (judge_prompt(d, c, a), dict(gen)), idx=0)
            for d, c, a in requests
        ]
        replies = lm.generate_until(instances, disable_tqdm=True)
        return [parse_verdict(d, r) for (d, _, _), r in zip(requests, replies, strict=True)]

    return by_loglikelihood if settings.method == "loglikelihood" else by_generation


@dataclass
class JudgeRun:
    """What one run did: judgments written, items already done, replies with no verdict."""

    rater: str
    items: int = 0
    already_done: int = 0
    judged: int = 0
    unparsed: int = 0


def _prepare(store: Store, rater: str, info: dict[str, Any]) -> None:
    """Register ``rater`` as a judge with ``info`` and give it every item; refuse a name
    with a person's judgments or another judge's settings. (A rater of ``annotate new``
    who has judged nothing yet may become the judge: a set built for it from lm-eval
    samples with ``--annotators NAME --per-item 1``.)"""
    known = store.rater_info(rater)
    judged = store.conn.execute("SELECT 1 FROM ratings WHERE annotator=? LIMIT 1", (rater,))
    if known is None and judged.fetchone() is not None:
        raise InputError(
            f"rater {rater!r} has judgments of a person in this set; choose another --rater",
            store.path,
        )
    if known is not None and known != info:
        changed = sorted(k for k in set(known) | set(info) if known.get(k) != info.get(k))
        raise InputError(
            f"rater {rater!r} judged with other settings ({', '.join(changed)} differ); "
            "choose another --rater",
            store.path,
        )
    with store.transaction() as conn:
        store.add_annotator(rater)
        store.set_rater_info(rater, info)
        items = [r[0] for r in conn.execute("SELECT item_id FROM items ORDER BY item_id")]
        for item_id in items:
            store.assign(item_id, rater)


def judge_store(
    store_path: str | Path,
    decide: Decide,
    info: dict[str, Any],
    rater: str,
    *,
    batch_size: int = 16,
    limit: int | None = None,
    progress: Callable[[JudgeRun], None] | None = None,
) -> JudgeRun:
    """Judge every item of the store that ``rater`` has not judged yet on every dimension,
    ``batch_size`` items a committed transaction. ``limit``: at most that many items."""
    with Store.open(store_path) as store:
        store.check()
        _prepare(store, rater, info)
        run = JudgeRun(rater, items=store.progress(rater)[1])
        todo = store.queue(rater)
        run.already_done = run.items - len(todo)
        if limit is not None:
            todo = todo[:limit]
        for start in range(0, len(todo), batch_size):
            requests, keys = [], []
            for item_id in todo[start : start + batch_size]:
                item, given = store.item(item_id), store.current(item_id, rater)
                for dim in store.dimensions:
                    if dim.name not in given:
                        requests.append((dim, item["claim"], item["answer"]))
                        keys.append((item_id, dim.name))
            verdicts = decide(requests)
            ratings = [
                (Rating(item_id, rater, dim, value), f"judge:{PROMPT_VERSION}", None)
                for (item_id, dim), value in zip(keys, verdicts, strict=True)
                if value is not None
            ]
            with store.transaction():
                store.rate_many(ratings)
            run.judged += len(ratings)
            run.unparsed += len(keys) - len(ratings)
            if progress is not None:
                progress(run)
    return run
