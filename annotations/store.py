"""The annotation store: one SQLite file (WAL) that is the source of truth for judgments.

Every judgment is committed in its own transaction the moment it is given, with
``synchronous=FULL``, so killing the rater's process (or the server) loses nothing that
was acknowledged. Several processes and threads may write at once: each opens its own
connection and writes under ``BEGIN IMMEDIATE``, which SQLite serialises. The file's
tables, and why only SQLite ever opens it, are in ``store_file.py``; the records read
and written here are in ``records.py``; a rater's queue is in ``assignment.py``.

A second judgment of the same (item, annotator, dimension) with a different value is a
*conflict*: it is reported, never silently written over (``on_conflict="replace"`` or an
undo first are the two explicit ways to change a judgment).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from logic_claims.annotations import assignment
from logic_claims.annotations.records import (
    DEFAULT_DIMENSIONS,
    ConflictError,
    Dimension,
    Item,
    OnConflict,
    RateResult,
    Rating,
)
from logic_claims.annotations.store_file import (
    SCHEMA_V1,
    SCHEMA_VERSION,
    connect,
    migrate,
    now,
    store_error,
    upgrade,
)
from logic_claims.annotations.store_raters import Raters
from logic_claims.tasks.errors import InputError, clip
from logic_claims.tasks.io import current_umask

# A store of an older schema version is upgraded in place when opened (store_file.upgrade).
OLDER_VERSIONS = {str(v): v for v in range(1, SCHEMA_VERSION)}


class Store(Raters):
    """An open annotation store. Not shared between threads: open one per thread."""

    def __init__(self, path: str | Path, conn: sqlite3.Connection):
        self.path = Path(path)
        self.conn = conn
        self.dimensions: tuple[Dimension, ...] = tuple(
            Dimension.from_json(d) for d in json.loads(self.meta("dimensions"))
        )
        self.dims_by_name = {d.name: d for d in self.dimensions}

    # -- opening -------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: str | Path,
        dimensions: Sequence[Dimension] = DEFAULT_DIMENSIONS,
        info: dict[str, Any] | None = None,
    ) -> Store:
        """A new, empty store at ``path`` (which must not exist yet)."""
        path = Path(path)
        if path.exists():
            raise InputError("already exists; choose another --store or delete it", path)
        conn = connect(path, "rwc")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("BEGIN IMMEDIATE")
        for statement in SCHEMA_V1.split(";"):
            if statement.strip():
                conn.execute(statement)
        migrate(conn, 1)
        rows = {
            "dimensions": json.dumps([d.to_json() for d in dimensions]),
            "created_at": now(),
            "info": json.dumps(info or {}),
        }
        conn.executemany("INSERT INTO meta VALUES (?, ?)", rows.items())
        conn.execute("COMMIT")
        return cls(path, conn)

    @classmethod
    def open(cls, path: str | Path) -> Store:
        """Open an existing store; SQLite itself checks that it is one (see is_store_file)."""
        path = Path(path)
        if not path.is_file():
            raise InputError("no such store (create one with `logic-claims annotate new`)", path)
        try:
            conn = connect(path)
        except sqlite3.DatabaseError as exc:
            raise store_error(exc, path) from exc
        try:
            row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            version = None if row is None else row[0]
            if version in OLDER_VERSIONS:
                copy = upgrade(conn, path, OLDER_VERSIONS[version])
                if copy != path:
                    print(
                        f"logic-claims: upgraded {path} from store schema version {version} to "
                        f"{SCHEMA_VERSION}; the store as it was is kept in {copy}",
                        file=sys.stderr,
                    )
            elif version != str(SCHEMA_VERSION):
                raise InputError(
                    f"unsupported store schema version {clip(version)} (this logic-claims "
                    f"reads versions 1 to {SCHEMA_VERSION}; a newer one wrote it?)",
                    path,
                )
            store = cls(path, conn)
            # A no-op on our stores (created in WAL mode, which persists in the file).
            conn.execute("PRAGMA journal_mode = WAL")
        except InputError:
            conn.close()
            raise
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise store_error(exc, path) from exc
        except (ValueError, KeyError, TypeError) as exc:  # meta that is not ours
            conn.close()
            raise InputError(f"not an annotation store (bad meta: {clip(exc)})", path) from exc
        return store

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _: Any) -> None:
        self.close()
        # SQLite's own errors (a damaged file, a full disk, a lock held too long) are about
        # the user's file: one line, not a traceback. Constraint and API errors are bugs.
        if isinstance(exc, sqlite3.DatabaseError) and not isinstance(
            exc, (sqlite3.IntegrityError, sqlite3.ProgrammingError)
        ):
            raise store_error(exc, self.path) from exc

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All or nothing: on any exception the store is left as it was."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            # SQLite rolls back by itself after some errors (I/O, a corrupt page).
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def check(self) -> None:
        """SQLite's quick_check of the whole file; a damaged store is an InputError."""
        problems = [r[0] for r in self.conn.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise InputError(
                f"damaged store (SQLite: {problems[0][:200]}); restore it from a copy", self.path
            )

    def meta(self, key: str) -> str:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        if row is None:
            raise InputError(f"store has no {key!r}", self.path)
        return row[0]

    # -- building a set ------------------------------------------------------------
    def add_item(self, item: Item, system: str, source: str | None = None) -> None:
        """Insert an item (or find it by its content id) and record ``system`` gave it.

        Call inside ``transaction()``.
        """
        label = None if item.label is None else int(bool(item.label))
        self.conn.execute(
            "INSERT OR IGNORE INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                item.item_id,
                item.claim,
                item.answer,
                item.quantifier,
                label,
                item.target,
                item.doc_id,
                item.pair_id,
            ),
        )
        self.conn.execute(
            "INSERT OR IGNORE INTO item_systems VALUES (?, ?, ?)", (item.item_id, system, source)
        )

    def add_annotator(self, name: str) -> None:
        name = name.strip()
        if not name:
            raise InputError("empty annotator name")
        add = "INSERT OR IGNORE INTO annotators (name, added_at) VALUES (?, ?)"
        self.conn.execute(add, (name, now()))

    def assign(self, item_id: str, annotator: str, position: int | None = None) -> None:
        """Give ``item_id`` to ``annotator`` (appended to their queue by default)."""
        if position is None:
            row = self.conn.execute(
                "SELECT COALESCE(MAX(position), -1) + 1 FROM assignments WHERE annotator=?",
                (annotator,),
            ).fetchone()
            position = row[0]
        self.conn.execute(
            "INSERT OR IGNORE INTO assignments VALUES (?, ?, ?)", (item_id, annotator, position)
        )

    # -- looking things up ---------------------------------------------------------
    def systems(self) -> list[str]:
        return [
            r[0] for r in self.conn.execute("SELECT DISTINCT system FROM item_systems ORDER BY 1")
        ]

    def has_item(self, item_id: str) -> bool:
        return (
            self.conn.execute("SELECT 1 FROM items WHERE item_id=?", (item_id,)).fetchone()
            is not None
        )

    def item(self, item_id: str) -> dict[str, Any]:
        row = self.conn.execute("SELECT * FROM items WHERE item_id=?", (item_id,)).fetchone()
        if row is None:
            raise InputError(f"unknown item {item_id!r}", self.path)
        return dict(row)

    def item_systems(self, item_id: str) -> list[str]:
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT system FROM item_systems WHERE item_id=? ORDER BY system", (item_id,)
            )
        ]

    def check_item(self, item_id: str) -> None:
        if not self.has_item(item_id):
            raise InputError(f"unknown item {item_id!r} (not in this set)", self.path)

    def check_value(self, dimension: str, value: str) -> Dimension:
        dim = self.dims_by_name.get(dimension)
        if dim is None:
            raise InputError(
                f"unknown dimension {dimension!r} (this set has: {', '.join(self.dims_by_name)})",
                self.path,
            )
        if value not in dim.labels:
            raise InputError(
                f"{dimension}: value {value!r} is not one of {'/'.join(dim.labels)}", self.path
            )
        return dim

    def is_assigned(self, item_id: str, annotator: str) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM assignments WHERE item_id=? AND annotator=?", (item_id, annotator)
        ).fetchone()
        return row is not None

    def current(self, item_id: str, annotator: str) -> dict[str, str]:
        """The judgments ``annotator`` has given ``item_id``: dimension -> value."""
        return {
            r["dimension"]: r["value"]
            for r in self.conn.execute(
                "SELECT dimension, value FROM ratings WHERE item_id=? AND annotator=?",
                (item_id, annotator),
            )
        }

    # -- judging -------------------------------------------------------------------
    def _rate(
        self,
        rating: Rating,
        source: str | None,
        on_conflict: OnConflict,
        at: str | None,
    ) -> RateResult:
        row = self.conn.execute(
            "SELECT value FROM ratings WHERE item_id=? AND annotator=? AND dimension=?",
            (rating.item_id, rating.annotator, rating.dimension),
        ).fetchone()
        at = at or now()
        if row is None:
            self.conn.execute(
                "INSERT INTO ratings (item_id, annotator, dimension, value, created_at, source)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (rating.item_id, rating.annotator, rating.dimension, rating.value, at, source),
            )
            self._log("set", rating, None, source)
            return RateResult("new")
        previous = row[0]
        if previous == rating.value:
            return RateResult("same", previous)
        if on_conflict == "keep":
            return RateResult("kept", previous)
        if on_conflict == "replace":
            self.conn.execute(
                "UPDATE ratings SET value=?, created_at=?, source=?"
                " WHERE item_id=? AND annotator=? AND dimension=?",
                (rating.value, at, source, rating.item_id, rating.annotator, rating.dimension),
            )
            self._log("replace", rating, previous, source)
            return RateResult("replaced", previous)
        raise ConflictError(
            f"conflict: {rating.annotator} already rated item {rating.item_id} "
            f"{rating.dimension}={previous}, not {rating.value} (undo first, or import with "
            "--on-conflict keep|replace)",
            self.path,
        )

    def _log(self, action: str, rating: Rating, old: str | None, source: str | None) -> None:
        self.conn.execute(
            "INSERT INTO rating_log (at, action, item_id, annotator, dimension, old_value,"
            " new_value, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (now(), action, rating.item_id, rating.annotator, rating.dimension, old,
             rating.value if action != "undo" else None, source),
        )  # fmt: skip

    def rate(
        self,
        item_id: str,
        annotator: str,
        dimension: str,
        value: str,
        *,
        source: str | None = None,
        on_conflict: OnConflict = "error",
        require_assignment: bool = True,
    ) -> RateResult:
        """Validate and commit a person's judgment now (its own transaction)."""
        value = str(value)
        self.check_value(dimension, value)
        with self.transaction():
            self.check_person(annotator)
            self.check_item(item_id)
            if require_assignment and not self.is_assigned(item_id, annotator):
                raise InputError(f"item {item_id} is not assigned to {annotator}", self.path)
            return self._rate(
                Rating(item_id, annotator, dimension, value), source, on_conflict, None
            )

    def rate_many(
        self,
        ratings: Iterable[tuple[Rating, str | None, str | None]],
        *,
        on_conflict: OnConflict = "error",
    ) -> list[RateResult]:
        """Apply (rating, source, time) judgments inside the caller's transaction."""
        return [self._rate(r, source, on_conflict, at) for r, source, at in ratings]

    def undo(self, annotator: str) -> Rating | None:
        """Withdraw a person's (``annotator``'s) most recently written judgment (any
        session); None if none left.

        "Recent" is the order of writing in this store (the log's ids: a replace counts as
        a new write), never ``created_at``, which an import takes from its file's ``time``.
        """
        with self.transaction():
            self.check_person(annotator)
            row = self.conn.execute(
                "SELECT r.id, r.item_id, r.dimension, r.value FROM ratings r LEFT JOIN"
                " (SELECT item_id, dimension, MAX(id) AS written FROM rating_log"
                "  WHERE annotator=? AND action IN ('set', 'replace')"
                "  GROUP BY item_id, dimension) w USING (item_id, dimension)"
                " WHERE r.annotator=? ORDER BY w.written DESC NULLS LAST, r.id DESC LIMIT 1",
                (annotator, annotator),
            ).fetchone()
            if row is None:
                return None
            rating = Rating(row["item_id"], annotator, row["dimension"], row["value"])
            self.conn.execute("DELETE FROM ratings WHERE id=?", (row["id"],))
            self._log("undo", rating, rating.value, "undo")
            return rating

    # -- a rater's queue -----------------------------------------------------------
    def progress(self, annotator: str) -> tuple[int, int]:
        """(items fully judged, items assigned) for ``annotator``."""
        return assignment.progress(self.conn, annotator, len(self.dimensions))

    def queue(self, annotator: str) -> list[str]:
        """Item ids assigned to ``annotator`` and not fully judged, in their order."""
        return assignment.queue(self.conn, annotator, len(self.dimensions))

    def next_item(self, annotator: str, skipped: Iterable[str] = ()) -> str | None:
        """The next item to show: the first unfinished one not skipped; skipped ones come
        back (in order) when nothing else is left."""
        return assignment.next_in_queue(self.queue(annotator), skipped)

    def rater_state(
        self, annotator: str, skipped: Iterable[str] = (), focus: str | None = None
    ) -> dict[str, Any]:
        """What a rater sees next: the item (claim and answer only: blinded, no system and
        no gold label), the dimensions still to judge on it, and their progress.

        ``focus`` (an item just undone) is shown first if it is still unfinished.
        """
        self.check_annotator(annotator)
        done, total = self.progress(annotator)
        state: dict[str, Any] = {
            "annotator": annotator,
            "progress": {"done": done, "total": total},
            "item": None,
            "given": {},
            "pending": [],
        }
        queue = self.queue(annotator)
        item_id = focus if focus in queue else self.next_item(annotator, skipped)
        if item_id is None:
            return state
        item = self.item(item_id)
        given = self.current(item_id, annotator)
        state["item"] = {"item_id": item_id, "claim": item["claim"], "answer": item["answer"]}
        state["given"] = given
        state["pending"] = [d.name for d in self.dimensions if d.name not in given]
        state["position"] = total - len(queue) + 1
        return state

    def summary(self) -> dict[str, Any]:
        """Counts for `annotate status`."""
        q = self.conn.execute
        per_rater = {}
        for name in self.annotators():
            done, total = self.progress(name)
            per_rater[name] = {"done": done, "assigned": total}
            judge = self.rater_info(name)
            if judge is not None:
                per_rater[name]["judge"] = judge
        return {
            "store": str(self.path),
            "dimensions": [d.to_json() for d in self.dimensions],
            "items": q("SELECT COUNT(*) FROM items").fetchone()[0],
            "systems": {
                r[0]: r[1]
                for r in q("SELECT system, COUNT(*) FROM item_systems GROUP BY system ORDER BY 1")
            },
            "judgments": q("SELECT COUNT(*) FROM ratings").fetchone()[0],
            "raters": per_rater,
            "info": json.loads(self.meta("info")),
        }


def create_atomically(
    path: str | Path,
    build: Callable[[Store], Any],
    dimensions: Sequence[Dimension] = DEFAULT_DIMENSIONS,
    info: dict[str, Any] | None = None,
) -> None:
    """Create a store by running ``build(store)`` on a temporary file, then moving it
    into place: a failure (bad input, Ctrl-C) leaves no half-built store behind, and a
    file that appeared at ``path`` meanwhile is never replaced."""
    path = Path(path)
    if path.exists():
        raise InputError("already exists; choose another --store or delete it", path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    try:
        store = Store.create(tmp, dimensions, info)
        try:
            with store.transaction():
                build(store)
            # Fold the WAL into the main file so the move takes one complete file.
            store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            store.close()
        # SQLite creates files 0644 & ~umask; ours are ordinary files: 0666 & ~umask.
        os.chmod(tmp, 0o666 & ~current_umask())
        _move_no_clobber(tmp, path)
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{tmp}{suffix}").unlink(missing_ok=True)


def _move_no_clobber(tmp: Path, path: Path) -> None:
    """Move ``tmp`` to ``path`` unless ``path`` exists, with no window in which a file
    appearing at ``path`` would be replaced."""
    try:
        os.link(tmp, path)  # atomic, and fails if ``path`` exists
    except FileExistsError as exc:
        raise InputError("already exists; choose another --store or delete it", path) from exc
    except OSError:  # a file system without hard links: claim the name, then fill it
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError as exc:
            raise InputError("already exists; choose another --store or delete it", path) from exc
        try:
            os.replace(tmp, path)  # over the empty file claimed above, no one else's
        except BaseException:
            path.unlink(missing_ok=True)
            raise
