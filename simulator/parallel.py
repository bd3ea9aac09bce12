"""Loading a large history on two cores: a forked child builds the activity rows.

Python row-building is the bulk of start-up and holds the GIL, so threads do not
help; a fork does. The child inherits the prepared history (copy-on-write), writes
activities to a SQLite file on tmpfs and exits; meanwhile the parent loads tasks
and builds their indexes, then copies the activities in at C speed.

Forking is only done when the process has a single thread (the CLI and benchmarks
at start-up), never under a test runner's threads.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from simulator import schema

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from simulator.store import Store


class RowSource(Protocol):
    """Something that yields the activity rows and knows the last id it used."""

    @property
    def last_id(self) -> int:
        """The largest id handed out."""
        ...

    def rows(self) -> Iterator[tuple[object, ...]]:
        """Yield every row."""
        ...


def can_fork() -> bool:
    """Tell whether forking is safe here: POSIX, and no other thread that a fork could break."""
    return hasattr(os, "fork") and threading.active_count() == 1


def load_split(store: Store, task_rows: Iterable[tuple[object, ...]], activities: RowSource) -> int:
    """Load tasks here and activities in a forked child; return the last activity id.

    `task_rows` is consumed after the fork, so building the task rows overlaps the child's work.
    """
    folder = tempfile.mkdtemp(prefix="acronis-tm-sim-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None)  # noqa: S108  tmpfs, private mkdtemp
    path = str(Path(folder) / "activities.db")
    pid = os.fork()
    if pid == 0:  # the child: write the activities file and exit, never returning into the caller
        status = 1
        try:
            _write_side(path, activities)
            status = 0
        finally:
            os._exit(status)
    try:
        store.bulk_insert("tasks", task_rows)
        store.build_indexes("tasks")
        _, status = os.waitpid(pid, 0)
        if status != 0:
            raise RuntimeError("the history helper process failed")
        store.copy_from(path, "activities")
        store.build_indexes("activities")
        return int(store.scalar("SELECT COALESCE(MAX(id), 0) FROM activities"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _write_side(path: str, activities: RowSource) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode = OFF", "synchronous = OFF"):
        conn.execute(f"PRAGMA {pragma}")
    conn.execute(schema.create_tables("activities"))
    conn.execute("BEGIN")
    conn.executemany(schema.insert_sql("activities"), activities.rows())
    conn.execute("COMMIT")
    conn.close()
