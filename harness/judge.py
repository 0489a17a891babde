"""An automatic judge: a model rates every item of a store, as one more rater.

For each item and dimension the model reads the prompt of
:mod:`logic_claims.annotations.judge_prompt` (the dimension's question and definition, as
people read them) and gives a verdict:

- ``loglikelihood`` (default): each label is scored by all the ways of saying its word
  (``judge_prompt.surface_forms``: `` yes``, `` Yes``, ``YES``, ... with and without the
  leading space), the SUM of their probabilities after the prompt; the label with the
  highest score wins. Deterministic, never an unparsable answer. The judgment's
  ``score`` (stored with it) is its margin: for a 0/1 dimension the log-odds
  ``log P(1) - log P(0)`` (positive: the judge says 1; AUC and PPI read it as a
  continuous judge), otherwise the winner's log-probability over the runner-up's.
- ``generate``: greedy generation of a few tokens, the first word parsed as a label;
  a reply that names no label is left unjudged (counted, retried on the next run). No
  score. Chat backends (``local-chat-completions``: any OpenAI-compatible server, the
  way large judges are run) get the prompt as one user message; they give no
  log-likelihoods, so they take ``generate`` only.

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
    SURFACE_SCORING,
    judge_prompt,
    label_words,
    parse_verdict,
    surface_forms,
)
from logic_claims.annotations.records import Dimension, Rating
from logic_claims.annotations.store import Store
from logic_claims.harness.evaluate import DEFAULT_BACKEND, check_adapter, check_model
from logic_claims.tasks.errors import InputError
from logic_claims.tasks.settings import in_range, parse_options

METHODS: tuple[str, ...] = ("loglikelihood", "generate")


@dataclass(frozen=True)
class Verdict:
    """A judge's label of one item on one dimension, with its margin when it has one."""

    label: str
    score: float | None = None


# (dimension, claim, answer) -> a label of the dimension (a Verdict, with its score, or
# the label alone), or None (no verdict: not written, asked again next run)
JudgeRequest = tuple[Dimension, str, str]
Decide = Callable[[Sequence[JudgeRequest]], Sequence[Verdict | str | None]]


def is_chat_backend(backend: str) -> bool:
    """lm-eval's chat-completions models (``local-chat-completions``,
    ``openai-chat-completions``, ...): messages in, text out, no log-likelihoods."""
    return "chat" in backend


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
        if is_chat_backend(self.backend):
            self._check_chat()  # the model is the server's: nothing local to check
        else:
            check_model(self.model, self.model_args)

    def _check_chat(self) -> None:
        """A chat backend: generation only, an endpoint, no adapter."""
        if self.method != "generate":
            raise InputError(
                f"--backend {self.backend}: chat endpoints give no log-likelihoods; "
                "use --method generate"
            )
        if self.backend.startswith("local-") and not self.model_args.get("base_url"):
            raise InputError(
                f"--backend {self.backend}: give the server's endpoint, --model-args "
                "base_url=http://HOST:PORT/v1/chat/completions"
            )
        if self.peft:
            raise InputError(f"--backend {self.backend}: --peft is for local models only")

    def record(self) -> dict[str, Any]:
        """What the store keeps about this judge (its settings in ``annotators``)."""
        return {
            "kind": "model judge",
            "model": self.model,
            "peft": self.peft,
            "backend": self.backend,
            "method": self.method,
            "prompt_version": PROMPT_VERSION,
            **({"label_scoring": SURFACE_SCORING} if self.method == "loglikelihood" else {}),
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


def label_margin(dim: Dimension, scores: dict[str, float]) -> Verdict:
    """The verdict of label scores (log-probabilities): the best label, with its margin
    (0/1: ``score[1] - score[0]``; otherwise the best over the runner-up)."""
    ranked = sorted(scores, key=lambda label: scores[label], reverse=True)
    if set(scores) == {"0", "1"}:
        return Verdict(ranked[0], scores["1"] - scores["0"])
    return Verdict(ranked[0], scores[ranked[0]] - scores[ranked[1]])


def model_decider(lm: Any, settings: JudgeSettings) -> Decide:
    """Verdicts from an lm-eval model, by log-likelihood of the label words (every
    surface form, probabilities summed) or by generation."""
    from lm_eval.api.instance import Instance

    def by_loglikelihood(requests: Sequence[JudgeRequest]) -> list[Verdict | None]:
        instances, owners = [], []
        for n, (dim, claim, answer) in enumerate(requests):
            context = judge_prompt(dim, claim, answer)
            for choice in label_words(dim):
                for form in surface_forms(choice.word):
                    args = (context, form)
                    instances.append(Instance("loglikelihood", {}, args, idx=len(owners)))
                    owners.append((n, choice.label))
        results = lm.loglikelihood(instances, disable_tqdm=True)
        forms: dict[int, dict[str, list[float]]] = {}
        for (n, label), (logprob, _) in zip(owners, results, strict=True):
            forms.setdefault(n, {}).setdefault(label, []).append(logprob)
        return [
            label_margin(dim, {label: _logsumexp(lps) for label, lps in forms[n].items()})
            for n, (dim, _, _) in enumerate(requests)
        ]

    def by_generation(requests: Sequence[JudgeRequest]) -> list[Verdict | None]:
        gen = {"until": ["\n"], "max_gen_toks": settings.max_gen_toks, "do_sample": False}
        chat = is_chat_backend(settings.backend)

        def context(d: Dimension, c: str, a: str) -> Any:
            prompt = judge_prompt(d, c, a)
            return lm.apply_chat_template([{"role": "user", "content": prompt}]) if chat else prompt

        instances = [
            Instance("generate_until", {}, (context(d, c, a), dict(gen)), idx=0)
            for d, c, a in requests
        ]
        replies = lm.generate_until(instances, disable_tqdm=True)
        labels = [parse_verdict(d, r or "") for (d, _, _), r in zip(requests, replies, strict=True)]
        return [None if v is None else Verdict(v) for v in labels]

    return by_loglikelihood if settings.method == "loglikelihood" else by_generation


def _logsumexp(values: Sequence[float]) -> float:
    top = max(values)
    if not math.isfinite(top):
        return top
    return top + math.log(sum(math.exp(v - top) for v in values))


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
            verdicts = [Verdict(v) if isinstance(v, str) else v for v in decide(requests)]
            ratings = [
                (Rating(item_id, rater, dim, v.label, v.score), f"judge:{PROMPT_VERSION}", None)
                for (item_id, dim), v in zip(keys, verdicts, strict=True)
                if v is not None
            ]
            with store.transaction():
                store.rate_many(ratings)
            run.judged += len(ratings)
            run.unparsed += len(keys) - len(ratings)
            if progress is not None:
                progress(run)
    return run
