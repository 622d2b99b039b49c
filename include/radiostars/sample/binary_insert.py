"""Numeric DataFrame chunks into MariaDB/MySQL as *binary* prepared multi-row INSERTs.

``LOAD DATA`` makes the server parse text: profiling ``mariadbd`` while it loads a Gaia-like chunk
(perf, 2026-12-02) put ~28 % of its CPU in ``my_strtod`` and ~23 % in ``READ_INFO::read_field``
(tokenising), against ~23 % in InnoDB's ``write_row``. The client/server binary protocol carries
a DOUBLE as its 8 IEEE-754 bytes and a BIGINT as 8 little-endian bytes, so the server only copies
them into the record: ~3x less server CPU per row for the same rows, values bit-exact (ids above
2**53 included, no decimal round trip at all).

Protocol (MySQL client/server protocol, ``COM_STMT_PREPARE`` 0x16 / ``COM_STMT_EXECUTE`` 0x17 /
``COM_STMT_CLOSE`` 0x19; identical in MariaDB and MySQL): one statement
``INSERT INTO t (c1..ck) VALUES (?..?), … ×m`` is prepared per connection and batch size; each execute
sends ``stmt_id, flags=0, iteration_count=1, NULL bitmap (bit p of byte p//8 for parameter p, in
statement order = row-major), new_params_bound=1, (type, flags) per parameter, then the values of the
non-NULL parameters``. The whole payload of a batch is built with NumPy (no per-value Python):
the values as a (m, row_bytes) byte matrix, cut to the non-NULL cells with one boolean mask.

Only numeric, boolean and datetime columns are sent this way (fixed width); a frame with a text
column returns False from :meth:`BinaryInserter.insert` and is left to ``LOAD DATA``.

PyMySQL has no prepared statements; this uses its packet layer (``_execute_command``,
``_read_packet``, ``_read_query_result``), which is stable across its 1.x/2.x releases.
"""

from __future__ import annotations

import struct

import numpy as np
import pandas as pd
import pymysql

COM_STMT_PREPARE = 0x16
COM_STMT_EXECUTE = 0x17
COM_STMT_CLOSE = 0x19
# column types of the binary protocol (include/mysql_com.h enum_field_types)
TYPE_TINY, TYPE_DOUBLE, TYPE_LONGLONG, TYPE_DATETIME = 1, 5, 8, 12
MAX_PARAMS = 65_535  # a prepared statement's limit
# rows per prepared INSERT: the server's CPU per row grows with the statement's size (measured on
# 2e5 Gaia-like rows, 16 columns: 25 rows 1.1 s, 50 0.85 s, 100 0.73 s, 200 0.8 s, 2000 1.3 s,
# 4000 1.5 s; LOAD DATA 1.4 s); very small ones cost round trips and client time
ROWS_PER_STATEMENT = 128
# executes sent before their replies are read: the server takes commands from the socket in order, so
# a window of them saves round trips (each one a wake-up of both sides: the cost on a busy machine)
PIPELINE = 8


def _cell(s: pd.Series) -> tuple[int, np.ndarray, np.ndarray] | None:
    """(binary type, (m, width) uint8 value bytes, NULL mask) of one column, or None when it is not
    a fixed-width type the binary path sends (text, objects)."""
    if s.dtype == bool:
        return TYPE_TINY, s.to_numpy().astype(np.uint8).reshape(-1, 1), np.zeros(len(s), bool)
    if s.dtype.kind == "f":
        v = np.ascontiguousarray(s.to_numpy(dtype=np.float64), dtype="<f8")  # a view when it can be
        return TYPE_DOUBLE, v.view(np.uint8).reshape(-1, 8), np.isnan(v)
    if isinstance(s.dtype, pd.Int64Dtype) or s.dtype.kind in "iu":
        null = s.isna().to_numpy() if isinstance(s.dtype, pd.Int64Dtype) else np.zeros(len(s), bool)
        if s.dtype.kind == "u" and len(s) and int(s.max()) > np.iinfo(np.int64).max:
            return None
        v = s.to_numpy(dtype=np.int64, na_value=0) if isinstance(s.dtype, pd.Int64Dtype) else s.to_numpy()
        return TYPE_LONGLONG, np.ascontiguousarray(v, dtype="<i8").view(np.uint8).reshape(-1, 8), null
    if pd.api.types.is_datetime64_any_dtype(s) and getattr(s.dtype, "tz", None) is None:
        # binary DATETIME: length 11, year<2>, month, day, hour, minute, second, microsecond<4>
        null = s.isna().to_numpy()
        t = s.dt
        m = len(s)
        out = np.zeros((m, 12), np.uint8)
        out[:, 0] = 11
        out[:, 1:3] = t.year.fillna(0).to_numpy(np.int64).astype("<u2").view(np.uint8).reshape(-1, 2)
        for j, part in enumerate((t.month, t.day, t.hour, t.minute, t.second), start=3):
            out[:, j] = part.fillna(0).to_numpy(np.int64)
        out[:, 8:12] = t.microsecond.fillna(0).to_numpy(np.int64).astype("<u4").view(np.uint8).reshape(-1, 4)
        return TYPE_DATETIME, out, null
    return None


def encode(df: pd.DataFrame, rows_per_statement: int = ROWS_PER_STATEMENT):
    """``(types, batches)``: the parameter types of one row and an iterator of ``(m, NULL bitmap,
    values)`` for consecutive statements of ``m`` rows (the variable parts of COM_STMT_EXECUTE); None
    when a column is not fixed-width. Packed 32 statements at a time, so the copies stay small."""
    cells = []
    for c in df.columns:
        cell = _cell(df[c])
        if cell is None:
            return None
        cells.append(cell)
    k, n = len(cells), len(df)
    types = np.array([t for t, _, _ in cells], np.uint8)
    if k == 0:
        return types, iter(())
    widths = np.array([v.shape[1] for _, v, _ in cells])
    per = max(1, min(rows_per_statement, MAX_PARAMS // k))

    def batches():
        block = per * 32
        for b0 in range(0, n, block):
            b1 = min(n, b0 + block)
            values = np.concatenate([v[b0:b1] for _, v, _ in cells], axis=1)  # (rows, row_bytes)
            nulls = np.stack([z[b0:b1] for _, _, z in cells], axis=1)  # (rows, k)
            if nulls.any():  # row-major: only the bytes of non-NULL cells
                flat = values[np.repeat(~nulls, widths, axis=1)].tobytes()
                ends = np.cumsum((~nulls * widths).sum(axis=1))
            else:
                flat = values.tobytes()
                ends = np.arange(1, b1 - b0 + 1) * int(widths.sum())
            for start in range(0, b1 - b0, per):
                m = min(per, b1 - b0 - start)
                bitmap = np.packbits(nulls[start : start + m].reshape(-1), bitorder="little").tobytes()
                lo = int(ends[start - 1]) if start else 0
                yield m, bitmap, flat[lo : int(ends[start + m - 1])]

    return types, batches()


class BinaryInserter:
    """Prepared multi-row INSERTs over one PyMySQL connection (statements cached per table, column
    list and batch size; closed by :meth:`close`)."""

    def __init__(self, conn: pymysql.connections.Connection, rows_per_statement: int = ROWS_PER_STATEMENT):
        self.conn = conn
        self.rows_per_statement = rows_per_statement
        self._stmts: dict[tuple, tuple[int, bytes]] = {}  # key -> (statement id, parameter types)
        self.warnings = 0  # warnings of the executes since the last reset (the caller checks them)
        self._pending = 0  # executes sent whose replies are not read yet

    # --- protocol ---------------------------------------------------------------------------
    def _prepare(self, sql: str) -> tuple[int, int]:
        c = self.conn
        c._execute_command(COM_STMT_PREPARE, sql)
        pkt = c._read_packet()  # raises the server's error (e.g. unknown column) as a MySQLError
        stmt_id, n_cols, n_params = struct.unpack("<IHH", pkt.read(9)[1:9])
        for n in (n_params, n_cols):
            if n:  # n definitions, then an EOF packet (PyMySQL does not ask for DEPRECATE_EOF)
                while not c._read_packet().is_eof_packet():
                    pass
        return stmt_id, n_params

    def _send(self, stmt_id: int, payload: bytes) -> None:
        self.conn._execute_command(COM_STMT_EXECUTE, struct.pack("<IBI", stmt_id, 0, 1) + payload)
        self._pending += 1

    def _drain(self) -> None:
        """Read the replies of the executes sent (one OK or error packet each, in order); raise the first
        error once every reply is read, so the connection stays in step."""
        c, first = self.conn, None
        while self._pending:
            self._pending -= 1
            c._next_seq_id = 1  # each reply answers its own command (sequence numbers restart per command)
            try:
                c._read_query_result()
                self.warnings += c._result.warning_count
            except pymysql.err.MySQLError as exc:
                first = first or exc
        if first is not None:
            raise first

    def close(self) -> None:
        for stmt_id, _ in self._stmts.values():
            try:
                self.conn._execute_command(COM_STMT_CLOSE, struct.pack("<I", stmt_id))  # no reply
            except pymysql.err.MySQLError:
                pass
        self._stmts.clear()

    # --- rows -------------------------------------------------------------------------------
    def insert(self, table: str, df: pd.DataFrame) -> bool:
        """INSERT every row of ``df`` (NaN / NA -> NULL); False (nothing sent) when a column is not
        fixed-width. Runs inside the caller's transaction (no commit here)."""
        batches = encode(df, self.rows_per_statement)
        if batches is None:
            return False
        types, parts = batches
        names = ", ".join(f"`{c}`" for c in df.columns)
        try:
            for m, bitmap, values in parts:
                if (table, names, m) not in self._stmts:
                    self._drain()  # a prepare's reply must not queue behind executes
                stmt_id, bound = self._statement(table, names, types, m)
                self._send(stmt_id, bitmap + bound + values)
                if self._pending >= PIPELINE:
                    self._drain()
        finally:
            self._drain()
        return True

    def _statement(self, table: str, names: str, types: np.ndarray, m: int) -> tuple[int, bytes]:
        """The prepared INSERT of ``m`` rows (cached) and its parameter-type block."""
        key = (table, names, m)
        if key not in self._stmts:
            k = len(types)
            row = "(" + ", ".join(["?"] * k) + ")"
            stmt_id, n_params = self._prepare(f"INSERT INTO `{table}` ({names}) VALUES " + ", ".join([row] * m))
            if n_params != m * k:
                raise pymysql.err.ProgrammingError(f"prepared {n_params} parameters for {m * k}")
            bound = np.zeros((m * k, 2), np.uint8)  # (type, flags = signed) per parameter
            bound[:, 0] = np.tile(types, m)
            self._stmts[key] = (stmt_id, b"\x01" + bound.tobytes())
        return self._stmts[key]
