"""Read changed rows from MySQL/MariaDB with a keyset over ``(updated_at, row_id)``.

Rows of the window ``from < (updated_at, row_id) <= to`` are read page by page (``LIMIT chunk``,
each page continuing after the last key of the previous one) through a server-side, unbuffered
cursor (mysqlclient ``SSCursor``; PyMySQL ``SSCursor`` when mysqlclient is missing), so memory is
bounded by one page whatever the table size. The upper bound ``to`` is fixed when the run starts,
so rows changed while it runs are left for the next run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pyarrow as pa

from radiostars.ingest.errors import SourceUnavailable
from radiostars.ingest.schema import expected_schema


@dataclass(frozen=True, order=True)
class Key:
    """A position in the ``(updated_at, row_id)`` order; updated_at is naive UTC."""

    updated_at: dt.datetime
    row_id: int

    def as_dict(self) -> dict:
        return {"updated_at": self.updated_at.isoformat(timespec="microseconds"), "row_id": self.row_id}

    @classmethod
    def from_dict(cls, d: dict | None) -> "Key | None":
        if not d:
            return None
        ts = dt.datetime.fromisoformat(d["updated_at"])
        if ts.tzinfo is not None:
            ts = ts.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return cls(ts, int(d["row_id"]))


def _first_line(exc: BaseException) -> str:
    args = getattr(exc, "args", ())
    text = str(args[-1]) if args else str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def _conn_kwargs(url: str) -> dict:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return {"host": u.host or "127.0.0.1", "port": u.port or 3306, "user": u.username or "",
            "password": u.password or "", "database": u.database or ""}


@contextmanager
def connect(url: str, connect_timeout: int = 10):
    """An autocommit DB-API connection + the unbuffered cursor class; one-line error if unreachable."""
    kw = _conn_kwargs(url)
    where = f"{kw['host']}:{kw['port']} as {kw['user']} (database {kw['database']!r})"
    try:
        import MySQLdb
        import MySQLdb.cursors

        from MySQLdb.constants import FIELD_TYPE
        from MySQLdb.converters import conversions

        errors: tuple = (MySQLdb.Error,)
        conv = conversions.copy()
        conv.pop(FIELD_TYPE.DATETIME, None)  # raw b'YYYY-MM-DD hh:mm:ss.ffffff': Arrow parses it in C++
        try:
            conn = MySQLdb.connect(host=kw["host"], port=kw["port"], user=kw["user"], passwd=kw["password"],
                                   db=kw["database"], charset="utf8mb4", connect_timeout=connect_timeout,
                                   autocommit=True, conv=conv)
        except MySQLdb.Error as exc:
            raise SourceUnavailable(f"cannot connect to MySQL at {where}: {_first_line(exc)}; "
                                    f"is it running (`make up`)?") from None
        cursor_cls = MySQLdb.cursors.SSCursor
    except ImportError:  # pragma: no cover - the lock installs mysqlclient
        import pymysql
        import pymysql.cursors

        errors = (pymysql.err.MySQLError,)
        try:
            conn = pymysql.connect(host=kw["host"], port=kw["port"], user=kw["user"], password=kw["password"],
                                   database=kw["database"], charset="utf8mb4",
                                   connect_timeout=connect_timeout, autocommit=True)
        except pymysql.err.MySQLError as exc:
            raise SourceUnavailable(f"cannot connect to MySQL at {where}: {_first_line(exc)}; "
                                    f"is it running (`make up`)?") from None
        cursor_cls = pymysql.cursors.SSCursor
    try:
        yield Source(conn, cursor_cls, errors, where)
    finally:
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - closing a dead connection
            pass


@dataclass
class Source:
    conn: object
    cursor_cls: type
    errors: tuple
    where: str

    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        try:
            cur = self.conn.cursor()
            cur.execute(sql, args)
            rows = list(cur.fetchall())
            cur.close()
            return rows
        except self.errors as exc:
            raise SourceUnavailable(f"MySQL query failed at {self.where}: {_first_line(exc)}") from None

    def stream(self, sql: str, args: tuple, fetch: int) -> Iterator[list[tuple]]:
        """Unbuffered: rows come from the server ``fetch`` at a time."""
        try:
            cur = self.conn.cursor(self.cursor_cls)
            cur.execute(sql, args)
            while True:
                rows = cur.fetchmany(fetch)
                if not rows:
                    break
                yield rows
            cur.close()
        except self.errors as exc:
            raise SourceUnavailable(f"reading from MySQL at {self.where} failed: {_first_line(exc)}") from None


def live_columns(src: Source, table: str) -> list[tuple[str, str]]:
    """``[(column_name, data_type)]`` of ``table`` in the connected database, in ordinal order."""
    return [(r[0], r[1]) for r in src.query(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = DATABASE() AND table_name = %s ORDER BY ordinal_position", (table,))]


def _as_datetime(value) -> dt.datetime:
    if isinstance(value, bytes):
        value = value.decode()
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def max_key(src: Source, table: str) -> Key | None:
    """The greatest ``(updated_at, row_id)`` now in the table (None when empty)."""
    rows = src.query(f"SELECT updated_at, row_id FROM `{table}` ORDER BY updated_at DESC, row_id DESC LIMIT 1")
    return Key(_as_datetime(rows[0][0]), int(rows[0][1])) if rows else None


def _window_sql(table: str, columns: list[str], after: Key | None, upto: Key, limit: int) -> tuple[str, tuple]:
    cols = ", ".join(f"`{c}`" for c in columns)
    where, args = [], []
    if after is not None:  # row constructors defeat MariaDB's range optimiser: spell it out
        where.append("(updated_at > %s OR (updated_at = %s AND row_id > %s))")
        args += [after.updated_at, after.updated_at, after.row_id]
    where.append("(updated_at < %s OR (updated_at = %s AND row_id <= %s))")
    args += [upto.updated_at, upto.updated_at, upto.row_id]
    sql = (f"SELECT {cols} FROM `{table}` WHERE {' AND '.join(where)} "
           f"ORDER BY updated_at, row_id LIMIT {int(limit)}")
    return sql, tuple(args)


def rows_to_batch(rows: list[tuple], schema: pa.Schema) -> pa.RecordBatch:
    """DB-API tuples -> RecordBatch with the expected types (column-wise, in C where possible)."""
    # lists, not tuples: pyarrow converts a tuple of floats ~10^4 times slower than a list
    columns = [list(c) for c in zip(*rows)] if rows else [[] for _ in schema]
    arrays = []
    for values, f in zip(columns, schema):
        if pa.types.is_boolean(f.type):
            arr = pa.array(values, type=pa.int8()).cast(pa.bool_())
        elif pa.types.is_timestamp(f.type):  # naive UTC from MySQL -> UTC
            first = next((v for v in values if v is not None), None)
            if isinstance(first, (bytes, str)):
                arr = pa.array(values, type=pa.binary() if isinstance(first, bytes) else pa.string())
                arr = arr.cast(pa.string()).cast(pa.timestamp("us")).cast(f.type)
            else:
                arr = pa.array(values, type=pa.timestamp("us")).cast(f.type)
        else:
            arr = pa.array(values, type=f.type)
        arrays.append(arr)
    return pa.RecordBatch.from_arrays(arrays, schema=schema.remove_metadata())


def stream_window(src: Source, table: str, after: Key | None, upto: Key,
                  chunk_size: int) -> Iterator[pa.RecordBatch]:
    """Pages of at most ``chunk_size`` rows of the window ``(after, upto]``, in key order."""
    schema = expected_schema(table)
    columns = schema.names
    i_ts, i_id = columns.index("updated_at"), columns.index("row_id")
    cursor = after
    while True:
        sql, args = _window_sql(table, columns, cursor, upto, chunk_size)
        rows: list[tuple] = []
        for part in src.stream(sql, args, fetch=min(chunk_size, 10_000)):
            rows.extend(part)
        if not rows:
            return
        last = rows[-1]
        cursor = Key(_as_datetime(last[i_ts]), int(last[i_id]))
        yield rows_to_batch(rows, schema)
        if len(rows) < chunk_size:
            return
