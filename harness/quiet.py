"""Quiet output: one progress bar per lm-eval run on the terminal, the rest in a log file.

An lm-eval run prints, besides its results, a "Custom kwargs can be passed to
`--metadata`" warning per subtask, a progress bar per subtask while building requests,
chat-template advice, transformers' weight-loading bars and FutureWarnings. :func:`quiet_run`
sends all of that (stdout, stderr, every logging handler that writes to the terminal,
Python warnings) to the log file :func:`log_path` (``runs/logs/logic-claims.log`` under the
working directory, or ``$LOGIC_CLAIMS_LOG``; appended, one header line per run), and shows
on the terminal one bar that counts the run's requests. ``--verbose`` on ``eval``,
``compare`` and ``demo`` (or ``LOGIC_CLAIMS_VERBOSE=1``) shows all of it on the terminal.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

DEFAULT_LOG = Path("runs/logs/logic-claims.log")


def set_verbose(verbose: bool) -> None:
    """Show lm-eval's and transformers' own output (``--verbose``) for this process."""
    if verbose:
        os.environ["LOGIC_CLAIMS_VERBOSE"] = "1"


def is_verbose() -> bool:
    return os.environ.get("LOGIC_CLAIMS_VERBOSE", "") not in ("", "0")


def log_path() -> Path:
    """Where quiet runs write what they keep off the terminal."""
    return Path(os.environ.get("LOGIC_CLAIMS_LOG") or DEFAULT_LOG)


# Libraries whose console handlers always move to the log, whatever stream they were
# given (lm-eval binds its handler once, to whatever sys.stderr was at the time).
NOISY_LOGGERS = ("lm_eval", "transformers", "datasets", "accelerate", "peft", "DeepSpeed")


def _all_loggers() -> list[logging.Logger]:
    return [logging.getLogger()] + [
        lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]


def _terminal_handlers(streams: tuple[TextIO, ...]) -> list[logging.StreamHandler]:
    """Console handlers to move: any logger's that write to ``streams``, and every console
    handler of :data:`NOISY_LOGGERS` (never a file handler, never logging's last resort,
    which follows sys.stderr by itself)."""
    loggers = _all_loggers()
    found = []
    for logger in loggers:
        noisy = logger.name.split(".")[0] in NOISY_LOGGERS
        for handler in logger.handlers:
            settable = not isinstance(getattr(type(handler), "stream", None), property)
            console = isinstance(handler, logging.StreamHandler) and not isinstance(
                handler, logging.FileHandler
            )
            if settable and console and (noisy or handler.stream in streams):
                found.append(handler)
    return found


@contextlib.contextmanager
def _redirected(log: TextIO, streams: bool = True) -> Iterator[None]:
    """Terminal logging handlers, Python warnings and (``streams``) stdout and stderr into
    ``log`` for the block; transformers' progress bars off."""
    import transformers
    from lm_eval.utils import setup_logging

    setup_logging()  # lm-eval adds its handler once; let it bind the terminal, then move it
    transformers.utils.logging.disable_progress_bar()
    terminal = sys.stderr
    handlers = _terminal_handlers((sys.stderr, sys.stdout))
    saved = [(h, h.stream) for h in handlers]
    for handler in handlers:
        _point(handler, log)
    warnings_logger = logging.getLogger("py.warnings")
    to_log = logging.StreamHandler(log)
    warnings_logger.addHandler(to_log)
    logging.captureWarnings(True)
    try:
        with contextlib.ExitStack() as stack:
            if streams:
                stack.enter_context(contextlib.redirect_stdout(log))
                stack.enter_context(contextlib.redirect_stderr(log))
            yield
    finally:
        logging.captureWarnings(False)
        warnings_logger.removeHandler(to_log)
        for handler, stream in saved:
            _point(handler, terminal if getattr(stream, "closed", False) else stream)
        _unbind(log, terminal)
        transformers.utils.logging.enable_progress_bar()


def _point(handler: logging.StreamHandler, stream: TextIO) -> None:
    """``handler.setStream(stream)``, except that a closed old stream (a handler bound to a
    stream someone has since closed, e.g. a test's captured stderr) is not flushed."""
    if getattr(handler.stream, "closed", False):
        handler.stream = stream
        return
    try:
        handler.setStream(stream)
    except ValueError:  # closed underneath its wrapper (a capture file pytest closed)
        handler.stream = stream


def _unbind(log: TextIO, terminal: TextIO) -> None:
    """Handlers made inside the block bound the redirected stderr, i.e. ``log``, which is
    about to close: point them at the terminal, as they would have been outside it."""
    loggers = _all_loggers()
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is log:
                handler.setStream(terminal)


@contextlib.contextmanager
def _log_file(label: str) -> Iterator[TextIO]:
    """The log file, opened for appending, with a header line for ``label``."""
    path = log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as log:
        log.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} {label}\n")
        log.flush()
        yield log


@contextlib.contextmanager
def quiet_libraries(label: str) -> Iterator[None]:
    """Libraries' messages, warnings and loading bars to the log; the block's own output
    (a training bar, its prints) stays on the terminal. Verbose: nothing changes."""
    if is_verbose():
        yield
        return
    with _log_file(label) as log, _redirected(log, streams=False):
        yield


class RequestBar:
    """lm-eval's cache hook, used as a progress bar: every scored request calls it.

    ``HFLM`` (and :class:`~logic_claims.harness.fast_lm.FastHFLM`) call
    ``cache_hook.add_partial`` once a request; :meth:`wrap` grows the bar's total by each
    batch of requests a model method receives.
    """

    def __init__(self, label: str, stream: TextIO) -> None:
        from tqdm import tqdm

        from logic_claims.tasks import launch

        self.bar = tqdm(
            total=0,
            desc=label,
            unit="req",
            file=stream,
            dynamic_ncols=True,
            disable=not launch.is_main(),  # one bar under `accelerate launch`: process 0's
        )

    def add_partial(self, attr: str, req: Any, res: Any) -> None:
        self.bar.update(1)

    def wrap(self, method: Callable[..., list]) -> Callable[..., list]:
        def counted(requests: list, disable_tqdm: bool = False) -> list:
            self.bar.total += len(requests)
            self.bar.refresh()
            return method(requests, disable_tqdm=True)

        return counted

    def attach(self, lm: Any) -> Any:
        """Count ``lm``'s requests on this bar (its cache hook and request methods)."""
        lm.set_cache_hook(self)
        for name in ("loglikelihood", "loglikelihood_rolling", "generate_until"):
            setattr(lm, name, self.wrap(getattr(lm, name)))
        return lm

    def close(self, leave: bool = True) -> None:
        """Close the bar; ``leave=False`` clears its line (a run that failed: the error's
        one line stands alone)."""
        self.bar.leave = leave
        self.bar.close()


@contextlib.contextmanager
def quiet_run(label: str) -> Iterator[Callable[[Any], Any]]:
    """Run the block with its output in the log file; yields ``attach(lm) -> lm``.

    ``attach`` makes one bar on the terminal count the requests of ``lm``. Verbose:
    nothing changes (lm-eval's own bars and messages on the terminal).
    """
    if is_verbose():
        yield lambda lm: lm
        return
    bar = RequestBar(label, sys.stderr)
    with _log_file(label) as log:
        try:
            with _redirected(log):
                yield bar.attach
        except BaseException:
            bar.close(leave=False)
            raise
        bar.close()
