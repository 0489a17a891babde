"""``logic-claims interpret ADAPTER``: what a prompt-tuning adapter's virtual tokens are
nearest to in the vocabulary, and how far training moved them from their init text
(:mod:`logic_claims.adapters.interpret`)."""

from __future__ import annotations

import argparse
import json

from logic_claims.adapters.interpret import DEFAULT_TOP_K, MAX_TOP_K, Interpretation


def _quoted(token: str | None) -> str:
    """A token as a JSON string: its leading space and any newline stay visible."""
    return json.dumps(token, ensure_ascii=False)


def format_interpretation(result: Interpretation) -> str:
    """The text ``interpret`` prints: a header, then one line per virtual token."""
    init = f"init {result.init}"
    if result.init_text is not None:
        init += f" from {_quoted(result.init_text)}"
    lines = [
        f"{result.adapter}: {result.num_virtual_tokens} virtual tokens over "
        f"{result.base_model} ({result.vocabulary_size} tokens), {init}",
        "nearest vocabulary tokens by cosine similarity"
        + ("; the token each started as, and the cosine to it" if result.init_text else ""),
    ]
    for token in result.tokens:
        near = "  ".join(f"{_quoted(n.token)} {n.cosine:.3f}" for n in token.neighbours)
        start = ""
        if token.cosine_to_init is not None:
            start = f"   | init {_quoted(token.init_token)} {token.cosine_to_init:.3f}"
        lines.append(f"  {token.index:>3}  {near}{start}")
    if result.init_text is not None:
        lines.append(
            f"{result.reads_back_init} of {result.num_virtual_tokens} virtual tokens are "
            f"nearest to their init token; mean cosine to init "
            f"{result.mean_cosine_to_init:.3f} (1.000: training did not move them)"
        )
    return "\n".join(lines)


def _top_k(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_TOP_K:
        raise argparse.ArgumentTypeError(f"must be an integer from 1 to {MAX_TOP_K}, got {text!r}")
    return value


def cmd_interpret(args: argparse.Namespace) -> None:
    from logic_claims.adapters.interpret import interpret
    from logic_claims.harness import quiet

    with quiet.quiet_libraries(f"interpret {args.adapter}"):
        result = interpret(args.adapter, model=args.model, top_k=args.top_k)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(format_interpretation(result))


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "interpret",
        help="read a prompt-tuning adapter's virtual tokens as their nearest vocabulary tokens",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""\
Read what a prompt-tuning adapter learned (Lester et al. 2021, section 7): for each virtual
token, the --top-k vocabulary tokens whose input embeddings are nearest by cosine
similarity. An adapter initialised from text (prompt_init: text, the study's default)
also shows the token each virtual token started as and its cosine to that start:
1.000 means training did not move it.

Prefix tuning, LoRA and IA3 have no vectors in the input space: refused (exit 2).

examples:
  logic-claims interpret runs/adapters/pt
  logic-claims interpret runs/peft8 --model /models/Llama-2-7b-chat-hf --top-k 3 --json""",
    )
    parser.add_argument("adapter", metavar="ADAPTER", help="a PEFT prompt-tuning adapter directory")
    parser.add_argument(
        "--model",
        help="the base model (embedded name, local directory or hub id) when the one the "
        "adapter records (base_model_name_or_path) is not on this machine",
    )
    parser.add_argument(
        "--top-k",
        type=_top_k,
        default=DEFAULT_TOP_K,
        help=f"nearest tokens per virtual token, 1 to {MAX_TOP_K} (default: %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object instead of text")
    parser.set_defaults(func=cmd_interpret)
