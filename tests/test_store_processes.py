"""One store, several processes at once: two `annotate serve`, a loop of `annotate status`, a
TUI driven by stdin and an `annotate import`, while many raters post to both servers.

Nothing acknowledged may be lost, a conflicting second judgment must come back as 409,
and the file must pass SQLite's own integrity check afterwards. (Before the store stopped
opening its file with Python I/O, closing that descriptor dropped the process's SQLite
locks, another process deleted the WAL under a live writer, and judgments answered with
200 vanished or the file became "not a database".)
"""

from __future__ import annotations

import csv
import http.client
import json
import signal
import sqlite3
import subprocess
import sys
import threading
import urllib.parse
from collections import Counter, defaultdict
from pathlib import Path

from annotation_helpers import cli, value_for, write_samples

QUANTIFIERS = (("All", "all", False), ("Not all", "not_all", True), ("Some", "some", True),
               ("No", "no", False))  # fmt: skip
N_CLAIMS = 48
WEB_RATERS = [f"w{n}" for n in range(6)]
DIMS = ("factual", "justified")
CONFLICTS_PER_RATER = 4
STATUS_LOOP = """
import sys
from pathlib import Path
from logic_claims.harness.cli import main
store, stop = sys.argv[1], Path(sys.argv[2])
runs = failures = 0
while not stop.exists() or runs < 3:
    runs += 1
    failures += main(["annotate", "status", "--store", store]) != 0
print(runs, failures, file=sys.stderr)
sys.exit(1 if failures else 0)
"""


def command(*argv: str | Path) -> list[str]:
    return [sys.executable, "-m", "logic_claims.harness.cli", *map(str, argv)]


def build_store(tmp_path: Path) -> Path:
    claims = [
        (f"{word} kind-{n} birds fly.", quantifier, label)
        for n in range(N_CLAIMS)
        for word, quantifier, label in [QUANTIFIERS[n % 4]]
    ]
    answers = [f"{'True' if n % 3 else 'False'}, answer number {n}." for n in range(N_CLAIMS)]
    samples = write_samples(tmp_path / "m", answers, model="m", claims=claims)
    store = tmp_path / "ratings.sqlite"
    raters = ",".join([*WEB_RATERS, "tui"])
    argv = ["annotate", "new", "--store", store, "--per-item", "3", "--annotators", raters]
    assert cli(*argv, "--samples", samples) == (0, "", "")
    return store


def queues(store: Path) -> dict[str, list[str]]:
    conn = sqlite3.connect(store)
    try:
        out: dict[str, list[str]] = defaultdict(list)
        for rater, item in conn.execute(
            "SELECT annotator, item_id FROM assignments ORDER BY annotator, position"
        ):
            out[rater].append(item)
        return dict(out)
    finally:
        conn.close()


def start_server(store: Path, log: Path) -> tuple[subprocess.Popen, tuple[str, int]]:
    """`annotate serve` on a free port; its stderr goes to ``log`` (a pipe nobody reads
    would fill up and block the server)."""
    with log.open("w") as err:
        proc = subprocess.Popen(
            command("annotate", "serve", "--store", store, "--port", "0"),
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # "serving S at http://127.0.0.1:PORT/  (Ctrl-C to stop)"
    assert " at http://" in first, log.read_text()
    url = urllib.parse.urlsplit(first.split(" at ", 1)[1].split()[0])
    assert url.hostname is not None and url.port is not None
    return proc, (url.hostname, url.port)


def post(address: tuple[str, int], body: dict[str, str]) -> int | None:
    """POST one judgment; the HTTP status, or None when no answer came back."""
    conn = http.client.HTTPConnection(*address, timeout=60)
    try:
        conn.request("POST", "/api/rate", json.dumps(body), {"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def opposite(value: str) -> str:
    return "0" if value == "1" else "1"


def plan_posts(assigned: dict[str, list[str]]) -> list[list[tuple[int, dict[str, str]]]]:
    """Per thread, (server, judgment) posts: each rater's items are split over two threads
    (one per server), and a clumsy third thread posts the opposite value for a few of them
    to the other server at the same time."""
    jobs = []
    for rater in WEB_RATERS:
        items = assigned[rater]
        for server in (0, 1):
            jobs.append(
                [
                    (server, {"annotator": rater, "item_id": item, "dimension": dim,
                              "value": value_for(item, rater, dim)})
                    for item in items[server::2]
                    for dim in DIMS
                ]
            )  # fmt: skip
        clumsy = [
            (1 - n % 2, {"annotator": rater, "item_id": item, "dimension": "factual",
                         "value": opposite(value_for(item, rater, "factual"))})
            for n, item in enumerate(items[:CONFLICTS_PER_RATER])
        ]  # fmt: skip
        jobs.append(clumsy)
    return jobs


def run_posts(
    addresses: list[tuple[str, int]], jobs: list[list[tuple[int, dict[str, str]]]]
) -> list[tuple[dict[str, str], int | None]]:
    barrier = threading.Barrier(len(jobs))
    replies: list[tuple[dict[str, str], int | None]] = []
    lock = threading.Lock()
    broken = threading.Event()  # a server stopped answering: the test has failed, stop

    def work(posts: list[tuple[int, dict[str, str]]]) -> None:
        barrier.wait()
        for server, body in posts:
            if broken.is_set():
                return
            status = post(addresses[server], body)
            if status is None:
                broken.set()
            with lock:
                replies.append((body, status))

    threads = [threading.Thread(target=work, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return replies


def write_import(tmp_path: Path, items: list[str]) -> Path:
    """Every item judged by a rater "imp" who is new to the set."""
    path = tmp_path / "imp.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["item_id", "system", "annotator", *DIMS])
        for item in items:
            writer.writerow([item, "m", "imp", *(value_for(item, "imp", d) for d in DIMS)])
    return path


def stored(store: Path) -> tuple[str, dict[tuple[str, str, str], str]]:
    conn = sqlite3.connect(store)
    try:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        rows = conn.execute("SELECT item_id, annotator, dimension, value FROM ratings")
        return check, {(i, a, d): v for i, a, d, v in rows}
    finally:
        conn.close()


def test_servers_status_tui_and_import_on_one_store_lose_nothing(tmp_path: Path) -> None:
    store = build_store(tmp_path)
    assigned = queues(store)
    all_items = sorted({i for items in assigned.values() for i in items})
    imported = write_import(tmp_path, all_items)
    stop = tmp_path / "stop"
    servers = [start_server(store, tmp_path / f"serve{n}.log") for n in range(2)]
    helpers: list[subprocess.Popen] = []
    try:
        status_loop = subprocess.Popen(
            [sys.executable, "-c", STATUS_LOOP, str(store), str(stop)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        helpers.append(status_loop)
        n_tui = len(assigned["tui"]) * len(DIMS)
        keys = tmp_path / "keys.txt"
        keys.write_text("1" * n_tui)  # every question of every item: yes
        with keys.open() as key_presses:
            tui = subprocess.Popen(
                command("annotate", "tui", "--store", store, "--annotator", "tui"),
                stdin=key_presses,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        helpers.append(tui)
        importer = subprocess.Popen(
            command("annotate", "import", imported, "--store", store, "--add-annotators"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        helpers.append(importer)
        replies = run_posts([address for _, address in servers], plan_posts(assigned))
        stop.touch()
        tui_out, tui_err = tui.communicate()
        import_out, import_err = importer.communicate()
        _, loop_err = status_loop.communicate()
    finally:
        stop.touch()
        for proc, _ in servers:
            proc.send_signal(signal.SIGINT)
        for proc in [*helpers, *(p for p, _ in servers)]:
            try:
                proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
    check, rows = stored(store)
    assert check == "ok"
    by_key: dict[tuple[str, str, str], list[tuple[str, int | None]]] = defaultdict(list)
    for body, status in replies:
        key = (body["item_id"], body["annotator"], body["dimension"])
        by_key[key].append((body["value"], status))
    accepted = {key: [v for v, s in got if s == 200] for key, got in by_key.items()}
    lost = {key: vals for key, vals in accepted.items() if vals and rows.get(key) not in vals}
    assert lost == {}, f"{len(lost)} of {len(replies)} acknowledged judgments lost or changed"
    statuses = Counter(status for _, status in replies)
    assert set(statuses) <= {200, 409}, statuses
    assert all(len(vals) == 1 for vals in accepted.values())  # one winner per conflict
    conflicts = [got for got in by_key.values() if len(got) == 2]
    assert len(conflicts) == CONFLICTS_PER_RATER * len(WEB_RATERS)
    assert all(sorted(s for _, s in got) == [200, 409] for got in conflicts)
    assert all(rows[i, "imp", d] == value_for(i, "imp", d) for i in all_items for d in DIMS)
    assert all(rows[i, "tui", d] == "1" for i in assigned["tui"] for d in DIMS)
    assert len(rows) == len(by_key) + len(all_items) * len(DIMS) + n_tui

    logs = [(tmp_path / f"serve{n}.log").read_text() for n in range(2)]
    assert logs == ["", ""], logs[0][-2000:] + logs[1][-2000:]
    assert [p.returncode for p, _ in servers] == [0, 0]
    assert (importer.returncode, import_err) == (0, ""), import_out
    assert f"{len(all_items) * len(DIMS)} new judgments" in import_out
    assert (tui.returncode, tui_err, status_loop.returncode) == (0, "", 0), loop_err
    assert f"this session: {n_tui} judgments" in tui_out


def test_opening_a_store_again_keeps_this_process_locks(tmp_path: Path) -> None:
    """The mechanism, step by step: while this process holds a store open, opening it again
    (as every web request does) or asking what format the file is must not drop this
    process's SQLite locks; otherwise another process's `status`, closing last as it
    believes, checkpoints and deletes the WAL that the open connection still writes to."""
    from logic_claims.annotations.ratings import file_format
    from logic_claims.annotations.store import Store

    store = build_store(tmp_path)
    item = queues(store)["w0"][0]
    with Store.open(store) as held:
        held.rate(item, "w0", "factual", "1")
        Store.open(store).close()
        assert file_format(store) == "store"
        status = subprocess.run(
            command("annotate", "status", "--store", store), capture_output=True, text=True
        )
        assert status.returncode == 0, status.stderr
        assert Path(f"{store}-wal").exists()  # still there: `status` knew it was not alone
        held.rate(item, "w0", "justified", "0")  # a judgment acknowledged after that
    check, rows = stored(store)
    assert check == "ok"
    assert {d: rows.get((item, "w0", d)) for d in DIMS} == {"factual": "1", "justified": "0"}
