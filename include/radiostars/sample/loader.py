"""Streaming loader into MariaDB/MySQL.

Each chunk is written as CSV to a temporary file with pyarrow (C++ writer, NULL = empty field) and
loaded with ``LOAD DATA LOCAL INFILE … (@v1, …) SET col = NULLIF(@v, '')`` (needs ``local_infile``
on the server and ``local_infile=True`` on the PyMySQL client). If the server refuses LOCAL INFILE
the loader falls back to batched ``executemany`` (PyMySQL folds it into multi-row INSERTs).
Memory is bounded by one chunk. String columns never hold an empty string in the sample, so
NULLIF only turns missing values into NULL. ``MySQLLoader(binary=True)`` (``radiostars load``) sends
chunks without text columns as binary prepared INSERTs instead (:mod:`radiostars.sample.binary_insert`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pymysql
from sqlalchemy.engine import make_url

from radiostars.catalogues.schema import TABLES, metadata
from radiostars.sample.errors import SampleError

_LOCAL_INFILE_REFUSED = {1148, 2068, 3948, 1227}


def _connect_kwargs(url: str) -> dict:
    u = make_url(url)
    return {
        "host": u.host,
        "port": u.port or 3306,
        "user": u.username,
        "password": u.password,
        "database": u.database or None,
        "charset": "utf8mb4",
        "local_infile": True,
        "autocommit": False,
        "connect_timeout": 10,
    }


@contextmanager
def connect(url: str) -> Iterator[pymysql.connections.Connection]:
    """PyMySQL connection from a SQLAlchemy URL; one clear error line when MySQL is unreachable."""
    kw = _connect_kwargs(url)
    try:
        conn = pymysql.connect(**kw)
    except pymysql.err.OperationalError as exc:
        raise SampleError(
            f"cannot connect to MySQL at {kw['host']}:{kw['port']} as {kw['user']} "
            f"(database {kw['database']!r}): {exc.args[-1]}; is it running (`make up`)?"
        ) from None
    try:
        yield conn
    finally:
        conn.close()


def create_database(root_url: str, database: str, grant_user: str | None = None) -> None:
    """CREATE DATABASE IF NOT EXISTS (root URL without a database), optionally granting a user."""
    with connect(root_url) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE IF NOT EXISTS `{database}` CHARACTER SET utf8mb4")
        if grant_user:
            cur.execute(f"GRANT ALL PRIVILEGES ON `{database}`.* TO '{grant_user}'@'%'")
        conn.commit()


def recreate_tables(url: str, tables: list[str], defer_indexes: bool = False) -> None:
    """DROP + CREATE the given tables (SQLAlchemy DDL, InnoDB, utf8mb4).

    With ``defer_indexes`` the secondary indexes are left out; :func:`build_indexes` adds them after
    the bulk load (one sorted index build is much faster than maintaining them row by row).
    """
    from sqlalchemy import create_engine
    from sqlalchemy.schema import DropIndex

    for t in tables:
        TABLES[t].kwargs.update({"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"})
    engine = create_engine(url, connect_args={"connect_timeout": 10})
    try:
        with engine.begin() as conn:
            for t in tables:
                TABLES[t].drop(conn, checkfirst=True)
            metadata.create_all(conn, tables=[TABLES[t] for t in tables])
            if defer_indexes:
                for t in tables:
                    for idx in TABLES[t].indexes:
                        conn.execute(DropIndex(idx))
    except SampleError:
        raise
    except Exception as exc:  # noqa: BLE001 - turned into one line for the CLI
        raise SampleError(f"cannot create tables {', '.join(tables)}: {_first_line(exc)}") from None
    finally:
        engine.dispose()


def build_indexes(url: str, tables: list[str]) -> None:
    """Add the secondary indexes of ``tables`` (after a deferred-index bulk load)."""
    from sqlalchemy import create_engine
    from sqlalchemy.schema import CreateIndex

    engine = create_engine(url, connect_args={"connect_timeout": 10})
    try:
        with engine.begin() as conn:
            for t in tables:
                for idx in sorted(TABLES[t].indexes, key=lambda i: i.name):
                    conn.execute(CreateIndex(idx))
    except Exception as exc:  # noqa: BLE001
        raise SampleError(f"cannot build indexes on {', '.join(tables)}: {_first_line(exc)}") from None
    finally:
        engine.dispose()


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.splitlines()[0] if text else type(exc).__name__


def _to_arrow(df: pd.DataFrame) -> pa.Table:
    cols = {}
    for c in df.columns:
        s = df[c]
        if s.dtype == bool:
            cols[c] = pa.array(s.to_numpy().astype(np.int8))
        elif pd.api.types.is_datetime64_any_dtype(s):
            cols[c] = pa.array(s.to_numpy().astype("datetime64[us]"))  # written as 'YYYY-MM-DD hh:mm:ss.ffffff'
        elif s.dtype.kind == "f":
            cols[c] = pa.array(s.to_numpy(), from_pandas=True)  # NaN -> null
        else:
            cols[c] = pa.array(s, from_pandas=True)
    return pa.table(cols)


class MySQLLoader:
    """Append DataFrame chunks to tables over one connection; ``method`` = auto | infile | insert.

    ``binary=True``: frames of fixed-width columns only (numbers, booleans, datetimes) go as binary
    prepared INSERTs (:mod:`radiostars.sample.binary_insert`: about half the server CPU of ``LOAD
    DATA``, which parses every value as text); frames with text columns take ``method``."""

    def __init__(
        self,
        conn: pymysql.connections.Connection,
        method: str = "auto",
        tmp_dir: str | None = None,
        binary: bool = False,
    ):
        if method not in ("auto", "infile", "insert"):
            raise SampleError(f"load method {method!r} must be auto, infile or insert")
        self.conn = conn
        self.method = method
        self.tmp_dir = tmp_dir
        self.rows = 0
        self.binary = None
        if binary:
            from radiostars.sample.binary_insert import BinaryInserter

            self.binary = BinaryInserter(conn)

    def load(self, table: str, df: pd.DataFrame) -> None:
        if len(df) == 0:
            return
        if self.binary is not None and self._load_binary(table, df):
            self.rows += len(df)
            return
        if self.method in ("auto", "infile"):
            try:
                self._load_infile(table, df)
                self.rows += len(df)
                return
            except pymysql.err.MySQLError as exc:
                if self.method == "infile" or exc.args[0] not in _LOCAL_INFILE_REFUSED:
                    raise SampleError(f"loading {table} failed: {exc.args[-1]}") from None
                self.conn.rollback()
                self.method = "insert"
        self._load_insert(table, df)
        self.rows += len(df)

    def _load_infile(self, table: str, df: pd.DataFrame) -> None:
        # all-NULL columns are left out (they default to NULL); columns without NULLs are loaded
        # directly, the others through NULLIF(@v, '') — less work for the server per cell
        df = df[[c for c in df.columns if df[c].notna().any()]]
        cols = list(df.columns)
        has_null = [bool(df[c].isna().any()) for c in cols]
        fd, path = tempfile.mkstemp(suffix=".csv", dir=self.tmp_dir)
        os.close(fd)
        try:
            pacsv.write_csv(_to_arrow(df), path, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
            targets = ", ".join(f"@v{i}" if null else f"`{c}`" for i, (c, null) in enumerate(zip(cols, has_null)))
            sets = ", ".join(f"`{c}` = NULLIF(@v{i}, '')" for i, (c, null) in enumerate(zip(cols, has_null)) if null)
            sql = (
                f"LOAD DATA LOCAL INFILE %s INTO TABLE `{table}` CHARACTER SET utf8mb4 "
                f"FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' "
                f"LINES TERMINATED BY '\\n' ({targets})" + (f" SET {sets}" if sets else "")
            )
            with self.conn.cursor() as cur:
                cur.execute(sql, (path,))
                warnings = self.conn.show_warnings() if self.conn._result.warning_count else ()
            if warnings:
                raise SampleError(
                    f"loading {table}: MySQL warned: {warnings[0][2]} "
                    f"(first of {len(warnings)}); the data and the schema disagree"
                )
            self.conn.commit()
        finally:
            os.unlink(path)

    def _load_binary(self, table: str, df: pd.DataFrame) -> bool:
        # like _load_infile: all-NULL columns left out (they default to NULL), one commit per chunk
        df = df[[c for c in df.columns if df[c].notna().any()]]
        self.binary.warnings = 0
        try:
            if not self.binary.insert(table, df):
                return False
            if self.binary.warnings:
                warnings = self.conn.show_warnings()
                raise SampleError(
                    f"loading {table}: MySQL warned: {warnings[0][2] if warnings else 'a value does not fit its column'} "
                    f"(first of {self.binary.warnings}); the data and the schema disagree"
                )
            self.conn.commit()
        except pymysql.err.MySQLError as exc:
            raise SampleError(f"loading {table} failed: {exc.args[-1]}") from None
        return True

    def close(self) -> None:
        """Release the server-side prepared statements (the connection stays open)."""
        if self.binary is not None:
            self.binary.close()

    def _load_insert(self, table: str, df: pd.DataFrame, batch: int = 5000) -> None:
        cols = list(df.columns)
        sql = f"INSERT INTO `{table}` ({', '.join(f'`{c}`' for c in cols)}) VALUES ({', '.join(['%s'] * len(cols))})"
        obj = df.astype(object).where(df.notna(), None)
        for c in cols:
            if df[c].dtype == bool:
                obj[c] = df[c].astype(int)
            elif pd.api.types.is_datetime64_any_dtype(df[c]):
                obj[c] = df[c].dt.strftime("%Y-%m-%d %H:%M:%S.%f")
        rows = list(obj.itertuples(index=False, name=None))
        with self.conn.cursor() as cur:
            for start in range(0, len(rows), batch):
                cur.executemany(sql, rows[start : start + batch])
        self.conn.commit()


class BackgroundLoader:
    """Run :class:`MySQLLoader` in one worker thread so generation overlaps the server's work.

    At most ``depth`` chunks wait in the queue (memory bound); an error in the worker is raised in
    the caller at the next ``load`` or at ``close``.
    """

    def __init__(self, loader: MySQLLoader, depth: int = 2):
        import queue
        import threading

        self.loader = loader
        self._q: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="mysql-loader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._q.get()
            if item is None:
                return
            if self._error is None:
                try:
                    self.loader.load(*item)
                except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
                    self._error = exc

    def load(self, table: str, df: pd.DataFrame) -> None:
        if self._error is not None:
            self.close()
        self._q.put((table, df))

    def close(self) -> None:
        if self._thread.is_alive():
            self._q.put(None)
            self._thread.join()
        if self._error is not None:
            err, self._error = self._error, None
            raise err
