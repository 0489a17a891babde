"""The fast, exact training forward: PEFT's loss on the answer tokens, with less work.

``answer_loss`` equals PEFT's ``model(input_ids, labels=labels).loss`` (times the
answer-token count) on the batches ``batches.collate`` builds, but the prompt prefix
every example shares runs once per batch and the LM head runs only where an answer
token is predicted. tests/test_adapter_config.py checks the equality, and equal gradients,
for every method.
"""

from __future__ import annotations

from typing import Any

import torch

from logic_claims.adapters.batches import IGNORE


def _shared_cache(
    decoder: Any, embed: Any, lead: torch.Tensor | None, cache: Any, prefix_ids: torch.Tensor
) -> Any:
    """Soft prompt (``lead``) + common prefix, run once at batch size 1, as a KV cache."""
    parts = [] if lead is None else [lead]
    if prefix_ids.shape[1]:
        parts.append(embed(prefix_ids))
    embeds = torch.cat([p.to(parts[-1].dtype) for p in parts], dim=1)
    return decoder(inputs_embeds=embeds, cache=cache, use_cache=True).cache


def _packed_mask(segments: torch.Tensor, cache: Any) -> torch.Tensor:
    """Packed examples: causal inside each example, all of them see the cache."""
    past = cache.get_seq_length() if cache is not None else 0
    own = (segments[:, :, None] == segments[:, None, :]).tril()
    visible = torch.ones(*own.shape[:2], past, dtype=torch.bool, device=own.device)
    return torch.cat([visible, own], dim=2)[:, None]


def answer_loss(
    peft_model: Any,
    prefix_ids: torch.Tensor,
    input_ids: torch.Tensor,
    targets: torch.Tensor,
    positions: torch.Tensor,
    segments: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed cross-entropy over the answer tokens, and how many there are (see ``collate``).

    Same value as PEFT's ``model(input_ids, labels=labels).loss`` times the count, but:
    the prefix every example shares (the instruction, led by the soft prompt or the
    prefix key/values) runs once, at batch size 1, and the packed rest attends to its
    key/value cache (gradients flow back through it); and the LM head (49k wide for
    SmolLM2) runs only at positions that predict an answer token. PEFT's prompt tuning
    prepends IGNORE labels, so ``logits_to_keep`` with ``labels`` would misalign: the
    loss is computed here.
    """
    from peft import PeftType

    lm = peft_model.get_base_model()
    decoder, head, embed = lm.get_decoder(), lm.get_output_embeddings(), lm.get_input_embeddings()
    config = peft_model.active_peft_config
    rows = input_ids.shape[0]
    lead, cache, offset = None, None, 0
    first = 1 if segments is not None else rows  # packed: the shared part runs once
    if config.peft_type == PeftType.PROMPT_TUNING:
        lead = peft_model.get_prompt(batch_size=first)
        offset = config.num_virtual_tokens
    elif config.peft_type == PeftType.PREFIX_TUNING:
        cache = peft_model.get_prompt(batch_size=first, max_cache_len=input_ids.shape[1])
        offset = config.num_virtual_tokens

    if segments is not None:
        if lead is not None or prefix_ids.shape[1]:
            cache, lead = _shared_cache(decoder, embed, lead, cache, prefix_ids), None
        if cache is not None and rows > 1:
            cache.batch_repeat_interleave(rows)
    embeds = embed(input_ids)
    if lead is not None:  # padded rows: the soft prompt leads each row
        embeds = torch.cat([lead.to(embeds.dtype), embeds], dim=1)
    kwargs: dict[str, Any] = {}
    if segments is not None:
        kwargs["attention_mask"] = _packed_mask(segments, cache)
        kwargs["position_ids"] = positions + offset
    out = decoder(inputs_embeds=embeds, cache=cache, use_cache=cache is not None, **kwargs)
    hidden = out.last_hidden_state
    if lead is not None:
        hidden = hidden[:, lead.shape[1] :]
    mask = targets != IGNORE
    logits = head(hidden[mask])
    loss_sum = torch.nn.functional.cross_entropy(logits.float(), targets[mask], reduction="sum")
    return loss_sum, mask.sum()


class AnswerLoss(torch.nn.Module):
    """The PEFT model behind a forward that returns (loss sum, answer tokens).

    Accelerate/DeepSpeed wrap this module, so ZeRO-3 sees one root forward per step.
    """

    def __init__(self, peft_model: Any):
        super().__init__()
        self.model = peft_model

    def forward(self, **batch: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        return answer_loss(self.model, **batch)
