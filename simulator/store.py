"""The embedded SQLite database behind the simulator, safe to share across threads.

One connection guarded by one lock: the threaded HTTP server's requests and the
workload's transitions take turns, and every statement is short. Once closed, every
use raises `StoreClosedError`, which the HTTP front answers with a 503.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from simulator import schema

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from simulator.population import World


class StoreClosedError(RuntimeError):
    """The simulator stopped and closed its database while something still wanted it."""


class Store:
    """Owns the connection; all SQL goes through `read` or `write`."""

    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        self._closed = False
        for pragma in (
            "journal_mode = OFF",
            "synchronous = OFF",
            "temp_store = MEMORY",
            "cache_size = -262144",
        ):
            self._conn.execute(f"PRAGMA {pragma}")
        for kind in schema.COLUMNS:
            self._conn.execute(f"DROP TABLE IF EXISTS {kind}")  # a file db starts afresh for the seed
            self._conn.execute(schema.create_tables(kind))
        for table in ("tenants", "policies", "resources"):
            self._conn.execute(f"DROP TABLE IF EXISTS {table}")
        for ddl in schema.REFERENCE_TABLES:
            self._conn.execute(ddl)

    def load_world(self, world: World) -> None:
        """Store what filters on tenants, policies and resources look up."""
        with self.write() as conn:
            conn.executemany(
                "INSERT INTO tenants VALUES (?, ?)", [(int(t.id), t.locator) for t in world.tenants]
            )
            conn.executemany(
                "INSERT INTO policies VALUES (?, ?, ?, ?)",
                [(p.ref, p.id, p.name, p.type) for p in world.policies],
            )
            conn.executemany(
                "INSERT INTO resources VALUES (?, ?, ?, ?, ?, ?)",
                [(r.ref, r.id, r.name, r.type, r.agent_id, r.cluster_id) for r in world.resources],
            )

    def bulk_insert(self, kind: str, rows: Iterable[Sequence[object]]) -> None:
        """Insert many rows in one transaction (history loading)."""
        with self.write() as conn:
            conn.executemany(schema.insert_sql(kind), rows)

    def build_indexes(self, kind: str) -> None:
        """Create one kind's indexes; done after bulk loading, which is several times faster."""
        with self.write() as conn:
            for ddl in schema.create_indexes(kind):
                conn.execute(ddl)
            conn.execute("PRAGMA analysis_limit = 1000")  # sampled statistics: seconds saved at 1M rows
            conn.execute(f"ANALYZE {kind}")

    def copy_from(self, path: str, kind: str) -> None:
        """Append one kind's rows from another SQLite file (filled by a forked helper)."""
        with self._lock:
            self._check_open()
            self._conn.execute("ATTACH DATABASE ? AS side", (path,))
            try:
                with self.write() as conn:
                    conn.execute(f"INSERT INTO {kind} SELECT * FROM side.{kind}")  # noqa: S608  names are ours
            finally:
                self._conn.execute("DETACH DATABASE side")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock for a transaction; commits on success, rolls back on error."""
        with self._lock:
            self._check_open()
            self._conn.execute("BEGIN")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @staticmethod
    def insert_row(conn: sqlite3.Connection, kind: str, row: Sequence[object]) -> None:
        """Insert one row inside a `write()` transaction."""
        conn.execute(schema.insert_sql(kind), row)

    @staticmethod
    def update_row(conn: sqlite3.Connection, sql: str, args: Sequence[object]) -> None:
        """Run one UPDATE inside a `write()` transaction."""
        conn.execute(sql, args)

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one query and return all rows."""
        with self._lock:
            self._check_open()
            return self._conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:  # noqa: ANN401  a SELECT's single value
        """Run a query that returns one value."""
        with self._lock:
            self._check_open()
            row = self._conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def close(self) -> None:
        """Close the connection; later uses raise StoreClosedError instead of sqlite's error."""
        with self._lock:
            self._closed = True
            self._conn.close()

    def _check_open(self) -> None:
        """Raise StoreClosedError once closed; call with the lock held."""
        if self._closed:
            raise StoreClosedError("the simulator has stopped; its database is closed")
