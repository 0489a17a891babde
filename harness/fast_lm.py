"""The fast evaluation path: lm-eval's ``HFLM`` with three changes, registered as ``hf-fast``.

The plain ``hf`` backend scores a log-likelihood request by running the whole
prompt + continuation through the model, projecting *every* position onto the 49k-word
vocabulary and taking a log-softmax over all of it, then reading one or two positions.
The logic_claims prompts share their first ~18 tokens (the instruction), so most of that
work is the same for every claim. :class:`FastHFLM` (``--backend hf-fast`` in
``logic-claims eval``, ``backend: hf-fast`` in a compare config; ``hf`` stays lm-eval's own):

1. **merges** a LoRA or IA3 adapter into the weights after loading (PEFT's
   ``merge_and_unload``): the same function, without the adapter's extra matmuls;
2. computes the requests' **shared token prefix once** (keys and values in a cache that
   every batch reuses), and with a prompt-tuning adapter its virtual tokens too: they are
   the same for every claim and come before it, so they are part of that prefix;
3. applies the language-model head and the log-softmax **only where a continuation token
   is scored**, not at every position.

Generation runs lm-eval's own ``generate_until`` on the merged model at a larger batch
(:data:`GEN_BATCH`; lm-eval's default is 1); with a prompt-tuning adapter it generates
with the base model after a cache of the virtual tokens' keys and values, computed once
(PEFT 0.21's ``generate`` under transformers 5 was 2.5-3x slower than the base model a
token, its decoding steps as costly as whole-sequence passes, and it drifts from the adapted
model's own greedy continuation; see docs/performance.md).
Under ``accelerate launch`` it reports the launcher's rank and world size on any device
(``HFLM`` does only on several GPUs), so lm-eval shares the documents out and gathers
the results on process 0 (docs/scaling.md).
Anything the fast path does not handle (a seq2seq model, a prefix-tuning adapter, a
request longer than the model's window, a model whose head is not a plain projection)
goes through ``HFLM`` unchanged.

``benchmarks/eval_throughput.py`` measures both paths on the same requests and checks
they agree (log-likelihoods within 1e-4, the same generations); ``tests/test_fast_path.py``
checks the same on a few claims.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from lm_eval.api.registry import register_model
from lm_eval.models.huggingface import HFLM

from logic_claims.tasks import launch

BACKEND = "hf-fast"
MERGEABLE = frozenset({"LORA", "IA3"})  # PEFT types that merge_and_unload folds in
MC_BATCH = 32  # log-likelihood requests a forward pass (suffixes only, ~13 tokens each)
GEN_BATCH = 32  # generation batch on a CPU (lm-eval's default is 1)
ScoreRequest = tuple[tuple[str, str], list[int], list[int]]


def peft_type(model: Any) -> str | None:
    """``"LORA"``, ``"PROMPT_TUNING"``, ... of a PEFT model; None for a plain model."""
    config = getattr(model, "peft_config", None)
    if not config:
        return None
    return str(next(iter(config.values())).peft_type.value)


def common_prefix(sequences: Sequence[Sequence[int]]) -> int:
    """Length of the longest token prefix that every sequence starts with."""
    if not sequences:
        return 0
    first = sequences[0]
    length = min(len(s) for s in sequences)
    for seq in sequences[1:]:
        n = 0
        while n < length and seq[n] == first[n]:
            n += 1
        length = n
    return length


def join_launch() -> None:
    """Join the processes ``accelerate launch`` started, as Accelerate's CPU processes.

    Without a GPU, Accelerate's state started without ``cpu=True`` finds no device
    backend and records one process of rank 0 (while torch joins the launcher's gloo
    group). Starting it first with ``cpu=True`` records the launcher's world size and
    rank; ``HFLM``'s own ``Accelerator()`` then shares that state.
    """
    if launch.world_size() <= 1 or torch.cuda.is_available():
        return
    from accelerate import PartialState

    PartialState(cpu=True)


@register_model(BACKEND)
class FastHFLM(HFLM):
    """``HFLM`` with merged adapters, a shared-prefix cache and logits only where scored.

    ``mc_batch_size``: log-likelihood requests a forward pass; ``batch_size`` (lm-eval's
    argument) is the generation batch and defaults to :data:`GEN_BATCH`;
    ``merge=False`` keeps an adapter unmerged (for comparison).
    """

    def __init__(
        self,
        *args: Any,
        mc_batch_size: int = MC_BATCH,
        merge: bool = True,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("batch_size") is None:
            kwargs["batch_size"] = GEN_BATCH
        join_launch()
        super().__init__(*args, **kwargs)
        self._take_launch_rank()
        self.mc_batch_size = int(mc_batch_size)
        self.adapter_type = peft_type(self._model)
        if merge and self.adapter_type in MERGEABLE:
            self._model = self._model.merge_and_unload()
            self._model.eval()
            self.adapter_type = None

    def _take_launch_rank(self) -> None:
        """Report the rank and world size of ``accelerate launch`` on any device.

        ``HFLM`` does so only when it sees more than one GPU, so under ``accelerate
        launch --multi_gpu --num_processes N`` on a CPU every process called itself rank
        0 of 1 and evaluated everything. With the rank and world size, lm-eval's
        evaluator gives each process its share of the documents and gathers the results
        on rank 0 (which alone returns and writes them). The rank is the global one
        (``HFLM`` takes the local one, which repeats on a second machine).
        """
        accelerator = getattr(self, "accelerator", None)
        if accelerator is None or accelerator.num_processes <= 1 or self._world_size > 1:
            return
        self._rank, self._world_size = accelerator.process_index, accelerator.num_processes
        self._device = accelerator.device

    # ------------------------------------------------------------------ model parts

    def _parts(self) -> tuple[Any, Any, Any] | None:
        """(causal LM, its decoder, its head), or None when the fast path does not apply."""
        if self.backend != "causal" or self.adapter_type not in (None, "PROMPT_TUNING"):
            return None
        lm = self._model.base_model if self.adapter_type else self._model
        config = lm.config
        if getattr(config, "final_logit_softcapping", None) or not hasattr(lm, "model"):
            return None  # a head that is more than a projection (Gemma 2), or unknown layout
        return lm, lm.model, lm.get_output_embeddings()

    def _prefix_embeds(self, lm: Any, tokens: list[int]) -> torch.Tensor:
        """Input embeddings of the shared prefix: virtual tokens (prompt tuning), then tokens."""
        ids = torch.tensor([tokens], dtype=torch.long, device=self.device)
        embeds = lm.get_input_embeddings()(ids)
        if self.adapter_type == "PROMPT_TUNING":
            virtual = self._model.get_prompt(batch_size=1).to(embeds.dtype)
            embeds = torch.cat([virtual, embeds], dim=1)
        return embeds

    def _virtual_cache(self, decoder: Any) -> Any:
        """Keys and values of a prompt-tuning adapter's virtual tokens (computed once).

        They come first and attend only to each other, so they are the same for every
        claim (PEFT's ``generate`` handles them at every step, slowly and, under
        transformers 5, wrongly: tests/test_fast_path.py).
        """
        from transformers import DynamicCache

        if getattr(self, "_virtual", None) is None:
            self._virtual = DynamicCache(config=decoder.config)
            with torch.no_grad():
                virtual = self._model.get_prompt(batch_size=1)
                decoder(inputs_embeds=virtual, cache=self._virtual, use_cache=True)
        return self._virtual

    # ------------------------------------------------------------------ generation

    def _model_generate(
        self, context: torch.Tensor, max_length: int, stop: list[str], **kwargs: Any
    ) -> torch.Tensor:
        """lm-eval's generation; with prompt tuning, the base model after a virtual-token cache.

        The cache stands in for the virtual tokens: the input gets as many filler ids in
        front (never embedded, the cache covers them) and the attention mask as many ones,
        which is the sequence PEFT builds; the filler columns are cut from the output.
        """
        parts = self._parts()
        if self.adapter_type != "PROMPT_TUNING" or parts is None:
            return super()._model_generate(context, max_length, stop, **kwargs)
        lm, decoder, _ = parts
        cache = copy.deepcopy(self._virtual_cache(decoder))
        cache.batch_repeat_interleave(context.shape[0])
        n = cache.get_seq_length()
        filler = torch.full_like(context[:, :1], self.tokenizer.pad_token_id or 0).expand(-1, n)
        mask = kwargs.pop("attention_mask", None)
        mask = torch.ones_like(context) if mask is None else mask
        peft_model, self._model = self._model, lm  # HFLM generates with self.model
        try:
            out = super()._model_generate(
                torch.cat([filler, context], dim=1), max_length + n, stop,
                attention_mask=torch.cat([torch.ones_like(filler), mask], dim=1),
                cache=cache, **kwargs,
            )  # fmt: skip
        finally:
            self._model = peft_model
        return out[:, n:]

    # ------------------------------------------------------------------ log-likelihood

    def _loglikelihood_tokens(
        self,
        requests: list[ScoreRequest],
        disable_tqdm: bool = False,
        override_bs: int | None = None,
    ) -> list[tuple[float, bool]]:
        parts = self._parts()
        inputs = [(ctx + cont)[:-1] for _, ctx, cont in requests]
        if parts is None or not requests or max(map(len, inputs)) + 16 > self.max_length:
            return super()._loglikelihood_tokens(requests, disable_tqdm, override_bs)
        # The prefix must end before the first scored position (the last context token).
        shared = min(common_prefix(inputs), min(len(ctx) for _, ctx, _ in requests) - 1)
        if shared < 1 and self.adapter_type is None:  # nothing to share (rolling windows)
            return super()._loglikelihood_tokens(requests, disable_tqdm, override_bs)
        with torch.no_grad():
            return self._score_with_prefix(requests, inputs, shared, parts, disable_tqdm)

    def _score_with_prefix(
        self,
        requests: list[ScoreRequest],
        inputs: list[list[int]],
        shared: int,
        parts: tuple[Any, Any, Any],
        disable_tqdm: bool,
    ) -> list[tuple[float, bool]]:
        """Score every request against one cached prefix, longest suffixes batched first.

        Requests with the same input (" True" and " False" after one context) share one
        pass: their continuations are scored at the last positions of that input.
        """
        from tqdm import tqdm
        from transformers import DynamicCache

        lm, decoder, head = parts
        prefix = DynamicCache(config=decoder.config)
        prefix_embeds = self._prefix_embeds(lm, inputs[0][:shared])
        offset = prefix_embeds.shape[1]  # prefix tokens plus virtual tokens
        decoder(inputs_embeds=prefix_embeds, cache=prefix, use_cache=True)
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, tokens in enumerate(inputs):
            groups.setdefault(tuple(tokens[shared:]), []).append(i)
        order = sorted(groups, key=len, reverse=True)
        results: list[tuple[float, bool]] = [(0.0, False)] * len(requests)
        bar = tqdm(
            total=len(requests),
            disable=disable_tqdm or self.rank != 0,
            desc="Running loglikelihood requests",
        )
        for start in range(0, len(order), self.mc_batch_size):
            suffixes = order[start : start + self.mc_batch_size]
            hidden = self._suffix_hidden(decoder, prefix, offset, suffixes)
            for row, suffix in enumerate(suffixes):
                members = groups[suffix]
                width = max(len(requests[i][2]) for i in members)
                end = len(suffix)  # the last input position predicts the last token
                logits = head(hidden[row, end - width : end])
                logprobs = F.log_softmax(logits, dim=-1, dtype=self.softmax_dtype)
                for i in members:
                    results[i] = self._score(logprobs, requests[i][2])
                    if requests[i][0] is not None:
                        self.cache_hook.add_partial("loglikelihood", requests[i][0], results[i])
                bar.update(len(members))
        bar.close()
        return results

    def _suffix_hidden(
        self, decoder: Any, prefix: Any, offset: int, suffixes: list[tuple[int, ...]]
    ) -> torch.Tensor:
        """Last hidden states of right-padded suffixes after a copy of the prefix cache."""
        width = max(map(len, suffixes))
        ids = torch.full((len(suffixes), width), self.tokenizer.pad_token_id or 0)
        mask = torch.zeros((len(suffixes), offset + width), dtype=torch.long)
        mask[:, :offset] = 1
        for row, suffix in enumerate(suffixes):
            ids[row, : len(suffix)] = torch.tensor(suffix)
            mask[row, offset : offset + len(suffix)] = 1
        cache = copy.deepcopy(prefix)
        cache.batch_repeat_interleave(len(suffixes))
        return decoder(
            input_ids=ids.to(self.device),
            attention_mask=mask.to(self.device),
            position_ids=torch.arange(offset, offset + width, device=self.device)[None],
            cache=cache,
            use_cache=True,
        ).last_hidden_state

    @staticmethod
    def _score(logprobs: torch.Tensor, continuation: list[int]) -> tuple[float, bool]:
        """(sum of log-probabilities, whether greedy) of a continuation ending at the last row."""
        rows = logprobs[logprobs.shape[0] - len(continuation) :]
        target = torch.tensor(continuation, device=rows.device)
        total = float(rows.gather(1, target[:, None]).sum())
        return total, bool((rows.argmax(dim=-1) == target).all())
