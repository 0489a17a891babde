"""The store's SQLite file: its tables, how a connection to it is opened, and what
SQLite's errors about it mean (one line naming the file).

Tables
  meta          key/value: schema version, the dimensions and their labels, creation info
  items         one claim plus one answer; ``item_id`` is a hash of the two texts, so two
                systems that gave the same answer to the same claim share the item (and
                the raters judge it once)
  item_systems  which system(s) gave each item's answer (raters never see this)
  annotators    the raters of this set, each a ``person`` or a ``model`` (a judge, with
                its settings as JSON in ``judge``), recorded once
  assignments   which rater judges which item, in which (per-rater shuffled) order
  ratings       the current judgment per (item, annotator, dimension)
  rating_log    every change, append-only: set, replace, undo (an audit trail)

Only SQLite ever opens the file: on POSIX, closing any other descriptor of it would drop
every SQLite lock of the process, and another process could then delete the WAL under a
live writer.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from pathlib import Path

from logic_claims.tasks.errors import InputError

# The tables as schema version 1 made them; a store of a later version is this plus
# MIGRATIONS, in order (so a new store and an upgraded one are built by the same steps).
SCHEMA_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE items (
    item_id TEXT PRIMARY KEY,
    claim TEXT NOT NULL,
    answer TEXT NOT NULL,
    quantifier TEXT,
    label INTEGER,
    target TEXT,
    doc_id TEXT,
    pair_id TEXT NOT NULL
);
CREATE TABLE item_systems (
    item_id TEXT NOT NULL REFERENCES items(item_id),
    system TEXT NOT NULL,
    source TEXT,
    PRIMARY KEY (item_id, system)
);
CREATE TABLE annotators (name TEXT PRIMARY KEY, added_at TEXT NOT NULL);
CREATE TABLE assignments (
    item_id TEXT NOT NULL REFERENCES items(item_id),
    annotator TEXT NOT NULL REFERENCES annotators(name),
    position INTEGER NOT NULL,
    PRIMARY KEY (item_id, annotator)
);
CREATE INDEX assignments_order ON assignments (annotator, position);
CREATE TABLE ratings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id TEXT NOT NULL REFERENCES items(item_id),
    annotator TEXT NOT NULL REFERENCES annotators(name),
    dimension TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at TEXT NOT NULL,
    source TEXT,
    UNIQUE (item_id, annotator, dimension)
);
CREATE TABLE rating_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    action TEXT NOT NULL,
    item_id TEXT NOT NULL,
    annotator TEXT NOT NULL,
    dimension TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT,
    source TEXT
);
"""


def _v2_rater_kinds(conn: sqlite3.Connection) -> None:
    """Version 2: each rater's kind (person or model) and a judge's settings in
    ``annotators``; version 1 kept a judge's settings as ``rater:NAME`` in ``meta``."""
    conn.execute(
        "ALTER TABLE annotators ADD COLUMN kind TEXT NOT NULL DEFAULT 'person'"
        " CHECK (kind IN ('person', 'model'))"
    )
    conn.execute("ALTER TABLE annotators ADD COLUMN judge TEXT")
    rows = conn.execute("SELECT key, value FROM meta WHERE substr(key, 1, 6) = 'rater:'")
    for key, value in rows.fetchall():
        name = key[len("rater:") :]
        add = "INSERT OR IGNORE INTO annotators (name, added_at) VALUES (?, ?)"
        conn.execute(add, (name, now()))
        conn.execute("UPDATE annotators SET kind='model', judge=? WHERE name=?", (value, name))
    conn.execute("DELETE FROM meta WHERE substr(key, 1, 6) = 'rater:'")


# MIGRATIONS[n - 1] takes a store from schema version n to n + 1, inside the caller's
# transaction. To change the schema, append one function here; nothing else changes.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_v2_rater_kinds,)
SCHEMA_VERSION = len(MIGRATIONS) + 1


def migrate(conn: sqlite3.Connection, version: int) -> None:
    """Bring the tables of schema ``version`` to SCHEMA_VERSION (inside a transaction)."""
    for step in MIGRATIONS[version - 1 :]:
        step(conn)
    conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))


def upgrade(conn: sqlite3.Connection, path: Path, version: int) -> Path:
    """Upgrade the store at ``path`` (open on ``conn``, no transaction) from ``version``
    in place, in one transaction; first a copy of it as it was, made by SQLite
    (``VACUUM INTO``) beside it. Returns the copy's path; on any error the store is left
    as it was and the copy removed. Another process upgrading at once: one of the two
    does it, the other finds it done (and returns ``path``)."""
    conn.execute("BEGIN IMMEDIATE")
    backup = None
    try:
        row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None or row[0] != str(version):
            conn.execute("ROLLBACK")
            return path
        backup = _free_name(path, f".v{version}.bak")
        # A second connection reads the store as committed (we hold the write lock and
        # have written nothing), so the copy is exactly the store before the upgrade.
        reader = connect(path)
        try:
            reader.execute("VACUUM INTO ?", (str(backup),))
        finally:
            reader.close()
        migrate(conn, version)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if backup is not None:
            backup.unlink(missing_ok=True)
        raise
    return backup


def _free_name(path: Path, suffix: str) -> Path:
    """``path`` + ``suffix``, or + ``.2``, ``.3``... : a name no file has yet."""
    candidate = path.with_name(path.name + suffix)
    n = 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}{suffix}.{n}")
    return candidate


def now() -> str:
    """The store's timestamps: UTC, ISO 8601, milliseconds."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


def _uri(path: Path, mode: str) -> str:
    """An SQLite URI for ``path``: ``mode=rw`` never creates a file, ``rwc`` may."""
    return f"{path.absolute().as_uri()}?mode={mode}"


def store_error(exc: sqlite3.DatabaseError, path: str | Path) -> InputError:
    """What SQLite said about a store, as one line naming the file."""
    name = getattr(exc, "sqlite_errorname", "")
    if name == "SQLITE_NOTADB" or str(exc).startswith("no such table"):
        return InputError(f"not an annotation store ({exc})", path)
    if name.startswith("SQLITE_CORRUPT"):
        return InputError(f"damaged store ({exc}); restore it from a copy", path)
    return InputError(f"cannot use the store ({exc})", path)


def is_store_file(path: str | Path) -> bool:
    """Whether ``path`` is a non-empty SQLite database, asked of SQLite itself.

    Never open a store with Python I/O: on POSIX, closing any descriptor of the file drops
    every SQLite lock this process holds on it, and another process may then checkpoint or
    delete the WAL under a live writer ("How To Corrupt An SQLite Database File", 2.2).
    """
    path = Path(path)
    if not path.is_file():
        return False
    try:
        conn = sqlite3.connect(_uri(path, "rw"), uri=True, timeout=30.0)
    except sqlite3.Error:
        return False
    try:
        return conn.execute("PRAGMA page_count").fetchone()[0] > 0
    except sqlite3.DatabaseError:
        return False
    finally:
        conn.close()


def connect(path: Path, mode: str = "rw") -> sqlite3.Connection:
    """A connection as the store uses one (``mode`` "rw": the file must exist; "rwc"
    may create it): rows by name, foreign keys on, every commit synced to disk."""
    # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a write is committed
    # exactly when we say and nothing waits in an implicit transaction.
    conn = sqlite3.connect(
        _uri(path, mode), uri=True, timeout=30.0, isolation_level=None, check_same_thread=False
    )
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA foreign_keys = ON")
    # FULL: a committed judgment survives a crash of the machine, not just of the process.
    conn.execute("PRAGMA synchronous = FULL")
    return conn
