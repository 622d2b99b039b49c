"""Read changed rows from MySQL/MariaDB straight into Arrow record batches.

**Binary, columnar path.** Rows are read with connectorx (Rust, MySQL binary protocol of prepared
statements) into Arrow buffers: no Python object per value. Measured on the 1e6-row bench table
(docs/ingestion.md, *Extraction paths*): ~0.6–1.2 M rows/s against ~0.11 M rows/s for the former
text-protocol path (mysqlclient ``SSCursor`` + one Python object per value), bit-identical values.
Small metadata queries (columns, bounds, the server clock) still go through mysqlclient.

**Pages.** The window ``from < (updated_at, row_id) <= to`` is read in pages of at most ``chunk``
rows, each a ``… LIMIT chunk`` query continuing after the last row of the previous page (keyset), so
memory is bounded by one page whatever the table size:

* a first load or full refresh (no ``from``) pages through the clustered primary key:
  ``WHERE row_id > :last AND <key <= to> ORDER BY row_id`` (a sequential scan, no secondary-index
  lookups);
* an incremental run pages through the ``(updated_at, row_id)`` index:
  ``WHERE <key > cursor> AND <key <= to> ORDER BY updated_at, row_id``.

**Upper bound and late rows.** ``to`` is the greatest key with ``updated_at <= now − L``, where *now*
is the MySQL server's clock (``UTC_TIMESTAMP(6)``, never the client's) and ``L`` the safety lag
(``INGEST_SAFETY_LAG_S``). A row committed at most ``L`` after its ``updated_at`` is therefore
visible to the run that reads past it: if ``updated_at <= now − L`` it was committed before *now*,
before the first page was read; otherwise it is above ``to`` and waits for the next run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import quote

import pyarrow as pa

from radiostars.catalogues.arrow import expected_schema
from radiostars.ingest.errors import SourceUnavailable


@dataclass(frozen=True, order=True)
class Key:
    """A position in the ``(updated_at, row_id)`` order; updated_at is naive UTC."""

    updated_at: dt.datetime
    row_id: int

    def as_dict(self) -> dict:
        return {"updated_at": self.updated_at.isoformat(timespec="microseconds"), "row_id": self.row_id}

    @classmethod
    def from_dict(cls, d: dict | None) -> Key | None:
        if not d:
            return None
        ts = dt.datetime.fromisoformat(d["updated_at"])
        if ts.tzinfo is not None:
            ts = ts.astimezone(dt.UTC).replace(tzinfo=None)
        return cls(ts, int(d["row_id"]))


def _first_line(exc: BaseException) -> str:
    args = getattr(exc, "args", ())
    text = str(args[-1]) if args else str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def _conn_kwargs(url: str) -> dict:
    """host/port/user/password/database of a ``mysql+pymysql://user:pw@host:port/db`` URL."""
    from urllib.parse import unquote, urlsplit

    u = urlsplit(url)
    return {
        "host": u.hostname or "127.0.0.1",
        "port": u.port or 3306,
        "user": unquote(u.username or ""),
        "password": unquote(u.password or ""),
        "database": unquote(u.path.lstrip("/")),
    }


def arrow_url(kw: dict) -> str:
    """connectorx connection string (user and password percent-encoded)."""
    return (
        f"mysql://{quote(kw['user'], safe='')}:{quote(kw['password'], safe='')}@{kw['host']}:{kw['port']}/"
        f"{quote(kw['database'], safe='')}"
    )


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas (``mallopt(M_ARENA_MAX)``) before connectorx starts its threads.

    connectorx reads every page on fresh Rust threads; glibc gives each thread an arena of its own and
    keeps the freed pages there, so the process's RSS climbs by about one page per arena up to
    8 × cores arenas (+120 MB on this 2-core machine, measured; gigabytes on a large worker), whatever
    the table size. Two arenas keep it at one or two pages. No-op (False) off glibc."""
    global _ARENAS_LIMITED
    if _ARENAS_LIMITED:
        return True
    try:
        import ctypes

        _ARENAS_LIMITED = bool(ctypes.CDLL("libc.so.6").mallopt(-8, int(arenas)))  # -8 = M_ARENA_MAX
    except (OSError, AttributeError):
        _ARENAS_LIMITED = False
    return _ARENAS_LIMITED


_ARENAS_LIMITED = False


@contextmanager
def connect(url: str, connect_timeout: int = 10, *, statement_timeout_s: float = 900, lock_wait_timeout_s: int = 60):
    """A :class:`Source` on the database of ``url``; one-line error if MySQL is unreachable.

    Every query is bounded (docs/reliability.md): MariaDB's ``max_statement_time`` (``statement_timeout_s``)
    and ``lock_wait_timeout`` (``lock_wait_timeout_s``: a table locked upstream, e.g. ``LOCK TABLES … WRITE``)
    on the session and, for connectorx's own connections, per statement (``SET STATEMENT … FOR``); the
    client's socket ``read_timeout`` backs them up (a server that stops answering)."""
    import MySQLdb

    limit_malloc_arenas()

    kw = _conn_kwargs(url)
    where = f"{kw['host']}:{kw['port']} as {kw['user']} (database {kw['database']!r})"
    limits = statement_limits(statement_timeout_s, lock_wait_timeout_s)
    try:
        conn = MySQLdb.connect(
            host=kw["host"],
            port=kw["port"],
            user=kw["user"],
            passwd=kw["password"],
            db=kw["database"],
            charset="utf8mb4",
            connect_timeout=connect_timeout,
            read_timeout=int(statement_timeout_s + lock_wait_timeout_s + 30),
            autocommit=True,
        )
        conn.cursor().execute(f"SET SESSION {limits}")
    except MySQLdb.Error as exc:
        raise SourceUnavailable(
            f"cannot connect to MySQL at {where}: {_first_line(exc)}; is it running (`make up`)?"
        ) from None
    try:
        yield Source(conn, (MySQLdb.Error,), where, arrow_url(kw), limits)
    finally:
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - closing a dead connection
            pass


def statement_limits(statement_timeout_s: float, lock_wait_timeout_s: int) -> str:
    """MariaDB variable assignments bounding one statement (``SET SESSION …`` / ``SET STATEMENT … FOR``)."""
    if not (statement_timeout_s > 0 and lock_wait_timeout_s >= 1):
        raise ValueError("MySQL timeouts must be positive")
    return f"max_statement_time={float(statement_timeout_s):g}, lock_wait_timeout={int(lock_wait_timeout_s)}"


_TIMEOUT_CODES = {"1969": "max_statement_time", "1205": "lock_wait_timeout"}


def _timeout_hint(text: str) -> str:
    """A sentence naming the timeout that fired (MariaDB errors 1969 and 1205), else ''."""
    for code, var in _TIMEOUT_CODES.items():
        if code in text:
            key = "MYSQL_STATEMENT_TIMEOUT_S" if var == "max_statement_time" else "MYSQL_LOCK_WAIT_TIMEOUT_S"
            return (
                f" — the {var} timeout fired ({key}): a table locked or a query stuck upstream; "
                "the watermark did not move, a later run retries"
            )
    return ""


@dataclass
class Source:
    conn: object
    errors: tuple
    where: str
    url: str  # connectorx
    limits: str = ""  # statement_limits(): applied to each connectorx query

    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        """A small query through mysqlclient (metadata, bounds, the clock)."""
        try:
            cur = self.conn.cursor()
            cur.execute(sql, args)
            rows = list(cur.fetchall())
            cur.close()
            return rows
        except self.errors as exc:
            text = _first_line(exc)
            raise SourceUnavailable(f"MySQL query failed at {self.where}: {text}{_timeout_hint(str(exc))}") from None

    def read_arrow(self, sql: str) -> pa.Table:
        """One query through connectorx (binary protocol) into Arrow, bounded by ``limits``."""
        import connectorx

        bounded = f"SET STATEMENT {self.limits} FOR {sql}" if self.limits else sql
        try:
            return connectorx.read_sql(self.url, bounded, return_type="arrow", protocol="binary")
        except Exception as exc:  # noqa: BLE001 - connectorx raises RuntimeError for everything
            raise SourceUnavailable(
                f"reading from MySQL at {self.where} failed: {_first_line(exc)}{_timeout_hint(str(exc))}"
            ) from None


def live_columns(src: Source, table: str) -> list[tuple[str, str]]:
    """``[(column_name, data_type)]`` of ``table`` in the connected database, in ordinal order."""
    return [
        (r[0], r[1])
        for r in src.query(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = DATABASE() AND table_name = %s ORDER BY ordinal_position",
            (table,),
        )
    ]


def server_now(src: Source) -> dt.datetime:
    """The MySQL server's UTC clock (naive), the one reference for the safety lag."""
    return src.query("SELECT UTC_TIMESTAMP(6)")[0][0]


def max_key(src: Source, table: str, not_after: dt.datetime | None = None) -> Key | None:
    """The greatest ``(updated_at, row_id)`` in the table (with ``updated_at <= not_after``); None when none."""
    where, args = ("WHERE updated_at <= %s ", (not_after,)) if not_after is not None else ("", ())
    rows = src.query(
        f"SELECT updated_at, row_id FROM `{table}` {where}ORDER BY updated_at DESC, row_id DESC LIMIT 1", args
    )
    return Key(rows[0][0], int(rows[0][1])) if rows else None


def upper_bound(src: Source, table: str, safety_lag_s: float) -> tuple[Key | None, dt.datetime]:
    """(the greatest key with ``updated_at <= now − lag``, the server's now)."""
    now = server_now(src)
    return max_key(src, table, now - dt.timedelta(seconds=safety_lag_s)), now


def deferred_rows(src: Source, table: str, now: dt.datetime, safety_lag_s: float) -> tuple[int, int]:
    """(rows with ``updated_at > now − lag``: left for a later run, of which dated after ``now``)."""
    n, future = src.query(
        f"SELECT COUNT(*), COALESCE(SUM(updated_at > %s), 0) FROM `{table}` WHERE updated_at > %s",
        (now, now - dt.timedelta(seconds=safety_lag_s)),
    )[0]
    return int(n), int(future)


def _ts(value: dt.datetime) -> str:
    return f"'{value.strftime('%Y-%m-%d %H:%M:%S.%f')}'"


def after_sql(key: Key) -> str:
    """``(updated_at, row_id) > key`` (row constructors defeat MariaDB's range optimiser: spelled out)."""
    ts = _ts(key.updated_at)
    return f"(updated_at > {ts} OR (updated_at = {ts} AND row_id > {int(key.row_id)}))"


def upto_sql(key: Key) -> str:
    """``(updated_at, row_id) <= key``."""
    ts = _ts(key.updated_at)
    return f"(updated_at < {ts} OR (updated_at = {ts} AND row_id <= {int(key.row_id)}))"


def page_sql(
    table: str,
    columns: list[str],
    after: Key | None,
    upto: Key,
    limit: int,
    *,
    by_pk: bool = False,
    last_row_id: int | None = None,
) -> str:
    """One page of the window: with ``by_pk`` (first load / full refresh) in primary-key order after
    ``last_row_id``, else in ``(updated_at, row_id)`` order after ``after``."""
    cols = ", ".join(f"`{c}`" for c in columns)
    if by_pk:
        where = ([f"row_id > {int(last_row_id)}"] if last_row_id is not None else []) + [upto_sql(upto)]
        order = "row_id"
    else:
        where = ([after_sql(after)] if after is not None else []) + [upto_sql(upto)]
        order = "updated_at, row_id"
    hint = " FORCE INDEX (PRIMARY)" if by_pk else ""  # a sequential scan, never a filesort of the table
    return f"SELECT {cols} FROM `{table}`{hint} WHERE {' AND '.join(where)} ORDER BY {order} LIMIT {int(limit)}"


def to_batch(data: pa.Table, schema: pa.Schema) -> pa.RecordBatch:
    """connectorx's Arrow types -> the expected schema (TINYINT(1) int8 -> bool, naive DATETIME -> UTC:
    casts of whole columns, no per-value work in Python)."""
    arrays = []
    for f in schema:
        col = data.column(f.name)
        arr = (
            col.chunk(0)
            if col.num_chunks == 1
            else (pa.concat_arrays(col.chunks) if col.num_chunks else pa.array([], col.type))
        )
        arrays.append(arr if arr.type == f.type else arr.cast(f.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema.remove_metadata())


def stream_window(src: Source, table: str, after: Key | None, upto: Key, chunk_size: int) -> Iterator[pa.RecordBatch]:
    """Pages of at most ``chunk_size`` rows of the window ``(after, upto]``: in primary-key order
    when ``after`` is None (first load / full refresh), else in key order."""
    schema = expected_schema(table)
    if after is not None and upto <= after:
        return
    by_pk = after is None
    last_id, cursor = None, after
    while True:
        page = src.read_arrow(page_sql(table, schema.names, cursor, upto, chunk_size, by_pk=by_pk, last_row_id=last_id))
        if page.num_rows == 0:
            return
        batch = to_batch(page, schema)
        if by_pk:
            last_id = batch.column("row_id")[-1].as_py()
        else:
            cursor = Key(
                batch.column("updated_at")[-1].as_py().replace(tzinfo=None), batch.column("row_id")[-1].as_py()
            )
        yield batch
        if batch.num_rows < chunk_size:
            return
