"""``logic-claims view DIR``: the claims explorer of any run's ``--log_samples`` files.

Reads the ``samples_<task>_<date>.jsonl`` files that ``logic-claims eval --output DIR`` and
``lm_eval --log_samples --output_path DIR`` write (anywhere under each DIR), one system per
folder lm-eval wrote (named by its results file: model, or model+adapter), and writes one
self-contained HTML page (:mod:`logic_claims.harness.report.explorer`) that works offline
and from a ``file://`` URL.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from logic_claims.annotations.samples import default_system_name, iter_records
from logic_claims.harness.annotate_cli import listen, port_arg
from logic_claims.tasks.claims import QUANTIFIERS
from logic_claims.tasks.errors import InputError
from logic_claims.tasks.io import (
    LM_EVAL_SAMPLES_NAME,
    check_not_input,
    check_out_file,
    write_text,
)

NO_SAMPLES = (
    "no lm-eval samples files (samples_<task>_<date>.jsonl) here; write them with "
    "`logic-claims eval --output DIR` or `lm_eval ... --output_path DIR --log_samples`"
)
# A task's name less its quantifier, claim type, family and log-likelihood parts: the
# prompt it asks in (logic_claims, logic_claims_yesno, logic_claims_rag3, ...).
_PART = re.compile(r"_(?:" + "|".join([*QUANTIFIERS, "universal", "existential", "mc"]) + r")$")


def prompt_of(task: str, families: tuple[str, ...]) -> str:
    """``logic_claims_contrast_negated_exception_mc_some`` -> ``logic_claims``."""
    while (shorter := _PART.sub("", task)) != task:
        task = shorter
    for family in families:
        task = task.replace(f"_{family}", "")
    return task.replace("_contrast", "")


def sample_files(directories: list[Path]) -> dict[Path, dict[str, Path]]:
    """Per folder lm-eval wrote, its newest samples file of each task."""
    found: dict[Path, dict[str, Path]] = {}
    for directory in directories:
        if directory.is_file():
            paths = [directory]
        elif directory.is_dir():
            paths = sorted(directory.rglob("samples_*.jsonl"))
        else:
            raise InputError("no such folder", directory)
        matched = [(p, LM_EVAL_SAMPLES_NAME.match(p.name)) for p in paths]
        if not any(m for _, m in matched):
            raise InputError(NO_SAMPLES, directory)
        for path, match in matched:
            if match:
                per_task = found.setdefault(path.parent, {})
                old = per_task.get(match["task"])
                if old is None or old.name < path.name:  # the newest run of the task
                    per_task[match["task"]] = path
    return found


def system_names(found: dict[Path, dict[str, Path]]) -> dict[tuple[Path, str], str]:
    """(folder, task) -> system: the folder's model (+adapter), and the prompt when a
    folder holds runs of several prompts (each is then its own system)."""
    from logic_claims.tasks.contrast import FAMILY_NAMES as families

    names = {
        folder: default_system_name(next(iter(tasks.values()))) for folder, tasks in found.items()
    }
    clashes = {n for n in names.values() if list(names.values()).count(n) > 1}
    out = {}
    for folder, tasks in found.items():
        name = str(folder) if names[folder] in clashes else names[folder]
        prompts = {prompt_of(t, families) for t in tasks}
        for task in tasks:
            prompt = prompt_of(task, families)
            out[folder, task] = f"{name} · {prompt}" if len(prompts) > 1 else name
    return out


def load(directories: list[Path]) -> tuple[Any, dict[str, list[str]]]:
    """The explorer of every samples file under ``directories``, and the files by system."""
    from logic_claims.harness.report import explorer

    found = sample_files(directories)
    names = system_names(found)
    samples: dict[str, dict[str, list[dict[str, Any]]]] = {}
    origin: dict[tuple[str, str], Path] = {}
    sources: dict[str, list[str]] = {}
    for folder, tasks in found.items():
        for task, path in sorted(tasks.items()):
            system = names[folder, task]
            key = task if task not in samples.get(system, {}) else f"{task} ({folder})"
            samples.setdefault(system, {})[key] = [r for _, r in iter_records(path, empty=None)]
            origin[system, key] = path
            sources.setdefault(system, []).append(str(path))
    return explorer.build(samples, origin), sources


def view_server(host: str, port: int, page: bytes, csp: str) -> Any:
    """The page on ``host:port`` (0: a free one), hardened as the annotation page's server
    (:class:`~logic_claims.annotations.web.LocalServer`): its own host names only, slow
    clients timed out, every refused body read or the connection closed."""
    from http import HTTPStatus

    from logic_claims.annotations.web import SECURITY_HEADERS, LocalHandler, LocalServer
    from logic_claims.annotations.web_http import HttpError

    class Handler(LocalHandler):
        def _get(self, path: str, query: dict[str, list[str]]) -> None:
            if path != "/":
                raise HttpError(HTTPStatus.NOT_FOUND, "not found")
            self._send(HTTPStatus.OK, page, "text/html; charset=utf-8")

    class Server(LocalServer):
        command = "view"
        # The page's own CSP (its inline script and style by hash), never framed.
        security_headers = SECURITY_HEADERS | {
            "Content-Security-Policy": f"{csp}; frame-ancestors 'none'"
        }

    return Server((host, port), Handler)


def cmd_view(args: argparse.Namespace) -> None:
    from logic_claims.harness.report import explorer
    from logic_claims.harness.report.render import render

    directories = [Path(d) for d in args.dirs]
    check_not_input(args.out, directories)
    check_out_file(args.out)
    view, sources = load(directories)
    title = ", ".join(str(d) for d in args.dirs)
    assets = explorer.page_assets("view.css")
    html = render("view.html", title=title, explorer=view, sources=sources, assets=assets)
    server = None
    if args.serve:  # bound before the page is written: a busy port is one line, no file
        page = html.encode("utf-8")
        server = listen(
            lambda: view_server(args.host, args.port, page, assets.csp), args.host, args.port
        )
    write_text(args.out, html)
    print(f"wrote {args.out}: {len(view.claims)} claims, {len(view.systems)} system(s)")
    if server is not None:
        print(f"serving it at {server.url}  (Ctrl-C to stop)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("stopped")
        finally:
            server.server_close()


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "view",
        help="a claims explorer (one HTML file) of runs' --log_samples files",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""\
Write one self-contained HTML page listing every claim with each system's answer:
its verdict, correct / tie / wrong, and for log-likelihood tasks the margin
log P(True) - log P(False). Filter by split, quantifier, family, outcome, systems that
disagree, or text; sort by any column; the view lives in the URL (#...), so a link
reproduces it. Works offline and from file://.

Each DIR is a folder written by `logic-claims eval --output DIR` or by
`lm_eval --output_path DIR --log_samples` (searched recursively; a samples file may be
given too). One system per folder lm-eval wrote; the newest file of each task is read.

examples:
  logic-claims eval --limit 20 --output runs/smol
  logic-claims view runs/smol --out smol.html
  logic-claims view runs/ --serve                  # http://127.0.0.1:8766/""",
    )
    parser.add_argument("dirs", nargs="+", metavar="DIR", help="run output folder(s)")
    parser.add_argument(
        "--out", default="explorer.html", help="the HTML file to write (default: %(default)s)"
    )
    parser.add_argument(
        "--serve", action="store_true", help="also serve the page on --host:--port until Ctrl-C"
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to serve on (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=port_arg,
        default=8766,
        help="port, 0: any free one (default: %(default)s)",
    )
    parser.set_defaults(func=cmd_view)
