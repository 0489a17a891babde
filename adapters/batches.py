"""From claims to tensors: select, tokenize as lm-eval does, batch, pack and collate.

Each example is the lm-eval task's own context (``format_prompt(claim)``) followed by
its gold answer; only the answer tokens carry the loss. ``collate`` packs a batch a few
examples to a row, with the prompt prefix they all share kept apart so that
``packed_forward.answer_loss`` runs it once. ``TrainData`` is what a run trains on: the
encoded splits, the step schedule, and the batch each process takes at each step.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from logic_claims.adapters.config import TrainConfig
from logic_claims.adapters.inputs import mix_contrast
from logic_claims.tasks.data import load_split
from logic_claims.tasks.errors import InputError
from logic_claims.tasks.prompt import TARGET_DELIMITER, format_prompt
from logic_claims.tasks.text import stable_hash

IGNORE = -100  # the target of a position that predicts no answer token
EXAMPLES_PER_ROW = 4
TENSOR_KEYS = ("prefix_ids", "input_ids", "targets", "positions", "segments")


@dataclass(frozen=True)
class Example:
    ids: tuple[int, ...]
    n_context: int  # prompt tokens; the rest (answer + EOS) carry the loss


def select_records(records: list[dict[str, Any]], cfg: TrainConfig, train: bool) -> list[dict]:
    """The claims a run uses, in a stable order that does not depend on the seed."""
    records = [r for r in records if r["quantifier"] in cfg.quantifiers]
    records.sort(key=lambda r: stable_hash(r["id"]))
    if train and cfg.examples_per_generic:
        # The study's later iterations kept one exemplar per generic (and quantifier).
        seen: dict[tuple[str, str], int] = {}
        kept = []
        for r in records:
            key = (r["generic"], r["quantifier"])
            seen[key] = seen.get(key, 0) + 1
            if seen[key] <= cfg.examples_per_generic:
                kept.append(r)
        records = kept
    limit = cfg.max_train_examples if train else cfg.max_val_examples
    return records[:limit] if limit else records


def encode(tokenizer: Any, records: list[dict], cfg: TrainConfig) -> tuple[list[Example], int]:
    """Tokenize as lm-eval does: the context alone (tokenizer defaults), then the answer.

    The generation task's context is ``format_prompt(claim)`` and the model continues
    after ``TARGET_DELIMITER``, so the answer tokens are exactly what it should generate.
    """
    contexts = tokenizer([format_prompt(r["claim"]) for r in records])["input_ids"]
    answers = tokenizer(
        [TARGET_DELIMITER + r["target"] for r in records], add_special_tokens=False
    )["input_ids"]
    eos = [tokenizer.eos_token_id] if cfg.add_eos and tokenizer.eos_token_id is not None else []
    examples, dropped = [], 0
    for context, answer in zip(contexts, answers, strict=True):
        ids = tuple(context + answer + eos)
        if len(ids) > cfg.max_length:
            dropped += 1
            continue
        examples.append(Example(ids, len(context)))
    return examples, dropped


def epoch_batches(
    examples: list[Example], batch_size: int, seed: int, epoch: int
) -> list[list[int]]:
    """Random batches of example indices for one epoch (the study's shuffled loader).

    A function of (seed, epoch) only, so a resumed run sees exactly the batches an
    uninterrupted one would. Batches are not grouped by length: packing leaves no
    padding anyway, and length tracks the kind of claim (exceptions are long,
    instances short), so length-grouped batches skew each step (measured: prompt
    tuning's validation loss after 22 steps was 1.78-1.81 with them, 1.61 without).
    """
    order = list(range(len(examples)))
    random.Random(f"{seed}:{epoch}").shuffle(order)
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def shared_prefix(batch: list[Example]) -> int:
    """Length of the prompt prefix every example of ``batch`` starts with.

    It ends before the last context token, which must predict the first answer token
    in the per-example part.
    """
    prefix, limit = 0, min(e.n_context for e in batch) - 1
    first = batch[0].ids
    while prefix < limit and all(e.ids[prefix] == first[prefix] for e in batch):
        prefix += 1
    return prefix


def pack_rows(tables: list[list[list[int]]], n_examples: int) -> list[list[list[int]]]:
    """Each table's per-example lists, ``EXAMPLES_PER_ROW`` examples back to back a row.

    A few examples per row: no padding to speak of, while attention (quadratic in the
    row length) stays small. Longest first into the shortest row balances them.
    """
    lengths = [len(r) for r in tables[0]]
    bins: list[list[int]] = [[] for _ in range(-(-n_examples // EXAMPLES_PER_ROW))]
    for i in sorted(range(n_examples), key=lambda i: -lengths[i]):
        min(bins, key=lambda b: sum(lengths[j] for j in b)).append(i)
    return [[[x for i in b for x in table[i]] for b in bins] for table in tables]


def collate(batch: list[Example], pad_id: int, packed: bool = True) -> dict[str, Any]:
    """Tensors for ``answer_loss``: the prefix all rows share, then the rest.

    packed (default): the prompt prefix common to the batch (the instruction) once, then
    the examples' remaining tokens back to back, ``EXAMPLES_PER_ROW`` to a row, with
    ``segments`` telling which example each token belongs to (-1: padding, ~1%).
    padded: one right-padded row per example (for gradient checkpointing, which
    cannot use the key/value cache the shared prefix needs).
    ``targets[r, k]`` is the token that position k should predict when it is an
    answer token, else IGNORE; ``positions`` count from the start of the text.
    """
    prefix = shared_prefix(batch) if packed else 0
    rows, targets, positions, segments = [], [], [], []
    for index, e in enumerate(batch):
        rest = range(prefix, len(e.ids))
        rows.append([e.ids[a] for a in rest])
        targets.append(
            [e.ids[a + 1] if e.n_context <= a + 1 < len(e.ids) else IGNORE for a in rest]
        )
        positions.append(list(rest))
        segments.append([index] * len(rest))
    if packed:
        rows, targets, positions, segments = pack_rows(
            [rows, targets, positions, segments], len(batch)
        )
    width = max(len(r) for r in rows)
    pad = [width - len(r) for r in rows]
    rows = [r + [pad_id] * n for r, n in zip(rows, pad, strict=True)]
    targets = [t + [IGNORE] * n for t, n in zip(targets, pad, strict=True)]
    positions = [p + list(range(len(p), len(p) + n)) for p, n in zip(positions, pad, strict=True)]
    segments = [g + [-1] * n for g, n in zip(segments, pad, strict=True)]  # -1: padding
    return {
        "prefix_ids": torch.tensor([batch[0].ids[:prefix]], dtype=torch.long),
        "input_ids": torch.tensor(rows, dtype=torch.long),
        "targets": torch.tensor(targets, dtype=torch.long),
        "positions": torch.tensor(positions, dtype=torch.long),
        "segments": torch.tensor(segments, dtype=torch.long) if packed else None,
        "tokens": sum(len(e.ids) for e in batch),
        "answer_tokens": sum(t != IGNORE for row in targets for t in row),
        "examples": len(batch),
    }


def on_device(batch: dict[str, Any], device: Any) -> dict[str, torch.Tensor | None]:
    """The tensors of a collated batch (``TENSOR_KEYS``) moved to ``device``."""
    return {k: None if batch[k] is None else batch[k].to(device) for k in TENSOR_KEYS}


@dataclass
class TrainData:
    """The encoded splits and the step schedule of one process (``rank`` of ``world``)."""

    cfg: TrainConfig
    examples: list[Example]
    val_examples: list[Example]
    dropped: int  # training examples longer than max_length
    pad_id: int
    world: int
    rank: int
    _epochs: dict[int, list[list[int]]] = field(default_factory=dict, repr=False)

    @property
    def packed(self) -> bool:
        """Gradient checkpointing runs layers without a KV cache: padded rows, no sharing."""
        return self.cfg.packing and not self.cfg.gradient_checkpointing

    @property
    def micro_batches(self) -> int:
        """Batches of ``batch_size`` a step takes, all processes together."""
        return self.world * self.cfg.gradient_accumulation_steps

    @property
    def steps_per_epoch(self) -> int:
        """Steps in which every process gets its batches (``len(epoch_batches(...))``
        over :attr:`micro_batches`)."""
        return -(-len(self.examples) // self.cfg.batch_size) // self.micro_batches

    @property
    def total_steps(self) -> int:
        return self.cfg.max_steps or self.cfg.num_epochs * self.steps_per_epoch

    def step_indices(self, step: int) -> list[list[int]]:
        """The example indices of this process's micro-batches at ``step`` (from 0).

        A step takes the next :attr:`micro_batches` batches of the epoch: process ``rank``
        the ``gradient_accumulation_steps`` of them from ``rank * gradient_accumulation_steps``
        on. So N processes of batch b, one process accumulating N batches of b, and one
        process of batch N*b see the same examples in the same steps."""
        epoch, index = divmod(step, self.steps_per_epoch)
        if epoch not in self._epochs:
            self._epochs.clear()
            self._epochs[epoch] = epoch_batches(
                self.examples, self.cfg.batch_size, self.cfg.seed, epoch
            )
        accumulate = self.cfg.gradient_accumulation_steps
        first = index * self.micro_batches + self.rank * accumulate
        return self._epochs[epoch][first : first + accumulate]

    def batches(self, step: int) -> list[dict[str, Any]]:
        """The collated micro-batches this process trains on at ``step`` (from 0)."""
        return [
            collate([self.examples[i] for i in indices], self.pad_id, self.packed)
            for indices in self.step_indices(step)
        ]

    def val_batches(self) -> list[dict[str, Any]]:
        """This process's share of the validation examples, shortest first, collated."""
        size, val = self.cfg.batch_size, self.val_examples
        order = sorted(range(len(val)), key=lambda i: len(val[i].ids))
        return [
            collate([val[i] for i in order[s : s + size]], self.pad_id, self.packed)
            for s in range(self.rank * size, len(order), size * self.world)
        ]


def load_data(cfg: TrainConfig, base_path: str, data_dir: Path, world: int, rank: int) -> TrainData:
    """The train and validation splits as lm-eval will ask them, tokenized once."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_path)
    pad_id = (
        tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    )
    train_records = select_records(load_split(data_dir, "train"), cfg, train=True)
    train_records = mix_contrast(train_records, data_dir, cfg)
    val_records = select_records(load_split(data_dir, "validation"), cfg, train=False)
    examples, dropped = encode(tokenizer, train_records, cfg)
    val_examples, _ = encode(tokenizer, val_records, cfg)
    batches, per_step = -(-len(examples) // cfg.batch_size), world * cfg.gradient_accumulation_steps
    if batches < per_step:
        raise InputError(
            f"too few training examples ({len(examples)}) for {world} processes x "
            f"{cfg.gradient_accumulation_steps} gradient accumulation steps: each takes its own "
            f"batch of batch_size {cfg.batch_size} (more than "
            f"{(per_step - 1) * cfg.batch_size} examples, or fewer processes)"
        )
    return TrainData(cfg, examples, val_examples, dropped, pad_id, world, rank)
