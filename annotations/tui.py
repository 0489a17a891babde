"""``logic-claims annotate tui``: judge items in a terminal, one key per answer.

Each key press is committed to the store at once, so quitting (q, Ctrl-C, closing the
terminal) loses nothing, and the next start resumes at the first unfinished item.
Keys: the dimension's labels (0/1, also n/y, for the binary defaults), ``u`` undo the
last judgment (also one from an earlier session), ``s`` skip the item for now (it comes
back when nothing else is left), ``q`` quit.

On a terminal keys act without Enter; with stdin from a pipe or file every character
is a key press (whitespace ignored), which is how scripts and the tests drive it.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from logic_claims.annotations.records import ConflictError, Dimension
from logic_claims.annotations.store import Store

COMMAND_KEYS = {"u": "undo", "s": "skip", "q": "quit"}
_COMMANDS_HELP = "  ".join(f"[{key}] {what}" for key, what in COMMAND_KEYS.items())
# Model text may carry terminal escape sequences and bidi controls; show them, never let
# them act: C0 and C1 controls (tab and newline are laid out by _wrap), DEL, the bidi
# embeddings, overrides and isolates (U+202A-202E, U+2066-2069), the marks LRM, RLM and
# ALM (U+200E, U+200F, U+061C), and the line and paragraph separators U+2028/U+2029.
_CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def safe(text: str) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``, ``\\u202e``)."""

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _CONTROL.sub(escape, text)


@contextlib.contextmanager
def _raw_terminal(stream: IO[str]) -> Iterator[None]:
    """Single key presses without Enter (POSIX terminals only)."""
    try:
        import termios
        import tty
    except ImportError:  # not POSIX: fall back to line input
        yield
        return
    fd = stream.fileno()
    old = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, old)


def _key_reader(stream: IO[str]) -> Callable[[], str | None]:
    def read() -> str | None:
        while True:
            char = stream.read(1)
            if char == "":
                return None  # EOF: like q
            if char == "\x03":
                raise KeyboardInterrupt
            if not char.isspace():
                return char

    return read


def _wrap(text: str, width: int, indent: str) -> str:
    lines = []
    for paragraph in safe(text).split("\n"):
        lines.append(
            textwrap.fill(paragraph, width, initial_indent=indent, subsequent_indent=indent)
            or indent
        )
    return "\n".join(lines)


def _screen(item: dict[str, str], given: dict[str, str], dim: Dimension, width: int) -> str:
    """The item, the answers given so far and the question, every text escaped."""
    lines = [
        f"\nClaim:\n{_wrap(item['claim'], width, '    ')}\n",
        f"\nAnswer:\n{_wrap(item['answer'], width, '    ')}\n\n",
        *(f"  {safe(name)}: {safe(value)}\n" for name, value in given.items()),
    ]
    keys = dim.key_map()
    binary = set(dim.labels) == {"0", "1"}
    shown = "  ".join(
        f"[{'/'.join(k for k, v in keys.items() if v == label)}] "
        + (f"{dim.caption(label)} ({label})" if binary else label)
        for label in dim.labels
    )
    question = f"{dim.question} ({dim.definition})\n  {shown}"
    lines.append(f"{safe(question)}   {_COMMANDS_HELP}\n> ")
    return "".join(lines)


def run_tui(
    store_path: str | Path,
    annotator: str,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
) -> dict[str, int]:
    """Run the loop until every assigned item is judged or the rater quits.

    Returns counts of this session: judged (key presses that were committed), undone,
    skipped.
    """
    stdin = stdin or sys.stdin
    out = stdout or sys.stdout
    interactive = stdin.isatty() and out.isatty()
    width = min(100, max(40, os.get_terminal_size().columns - 2)) if interactive else 88
    counts = {"judged": 0, "undone": 0, "skipped": 0}
    skipped: list[str] = []
    focus: str | None = None
    message = ""
    read_key = _key_reader(stdin)
    with (
        Store.open(store_path) as store,
        _raw_terminal(stdin) if interactive else contextlib.nullcontext(),
    ):
        store.check_person(annotator)  # a person never writes as a model judge
        store.check()  # a damaged store says so now, not after the rater's first keys
        dims = store.dims_by_name
        while True:
            state = store.rater_state(annotator, skipped, focus)
            focus = None
            done, total = state["progress"]["done"], state["progress"]["total"]
            if interactive:
                out.write("\x1b[2J\x1b[H")
            out.write(f"\n== rater {safe(annotator)} == {done}/{total} items done ==\n")
            if message:
                out.write(f"   {safe(message)}\n")
                message = ""
            item = state["item"]
            if item is None:
                out.write("All your items are judged. Thank you!\n")
                out.flush()
                return counts
            dim = dims[state["pending"][0]]
            keys = dim.key_map()
            out.write(_screen(item, state["given"], dim, width))
            out.flush()
            key = read_key()
            if key is None or key == "q":
                out.write("\nSaved. Run the same command to resume.\n")
                out.flush()
                return counts
            if key in keys:
                try:
                    store.rate(item["item_id"], annotator, dim.name, keys[key], source="tui")
                except ConflictError as exc:  # the same rater in another window got there first
                    message = exc.problem
                    continue
                counts["judged"] += 1
                if item["item_id"] in skipped:
                    skipped.remove(item["item_id"])
            elif key == "u":
                undone = store.undo(annotator)
                if undone is None:
                    message = "nothing to undo"
                else:
                    counts["undone"] += 1
                    focus = undone.item_id
                    message = f"undone: {undone.dimension}={undone.value}"
            elif key == "s":
                skipped = [i for i in skipped if i != item["item_id"]] + [item["item_id"]]
                counts["skipped"] += 1
            else:
                message = f"key {key!r} does nothing here"
