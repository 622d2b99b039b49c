"""All-or-nothing writes of a loaded file into a catalogue table, with the seeder's bulk path
(:class:`radiostars.sample.loader.MySQLLoader`: binary prepared INSERTs for numeric chunks, ``LOAD DATA
LOCAL INFILE`` of pyarrow-written CSV for chunks with text).

Two ways, both one transaction on the target table:

* **fresh** (the table is empty): the chunks go into a copy of the table without its secondary
  indexes (``<table>__loading``), the indexes are built once, and one atomic ``RENAME TABLE`` swaps
  the copy in (row_id = file order, one ``updated_at``); a killed load leaves only the copy, dropped
  by the next load;
* **merge** (the table has rows): the chunks go into a session-private ``TEMPORARY`` staging table
  (gone if the process dies), file rows are matched to table rows by catalogue id (the k-th row of an
  id in the file to the k-th row of that id in the table by row_id, so duplicate ids stay stable across
  reloads), then one transaction updates only the rows whose values differ (null-safe ``<=>``; their
  ``updated_at`` moves), inserts the new ones, and with ``replace`` soft-deletes the table's rows that
  are not in the file (``deleted = 1``: a tombstone the incremental ingestion can see).

``updated_at`` of every written row is max(the server's UTC now, the table's latest + 1 µs), strictly
after every earlier version, so the next incremental ingestion extracts exactly these rows. The stamp is
taken just before the merge transaction, which commits seconds later — well inside the ingestion's safety
lag (a row committed at most ``INGEST_SAFETY_LAG_S`` after its ``updated_at`` is always ingested). A fresh
load stamps at its start and may take longer, but the table is empty until the swap, so no extract can move
the watermark past its rows meanwhile.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from radiostars.catalogue_load import columns as cols
from radiostars.catalogue_load.errors import LoadError

STAGE = "_rs_load_stage"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def ensure_table(url: str, table: str) -> None:
    """CREATE the table from the schema module if it does not exist (never drops anything)."""
    from sqlalchemy import create_engine

    t = cols.table(table)
    t.kwargs.update({"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"})
    engine = create_engine(url, connect_args={"connect_timeout": 10})
    try:
        with engine.begin() as conn:
            t.create(conn, checkfirst=True)
    except Exception as exc:  # noqa: BLE001 - one line for the CLI
        raise LoadError(f"cannot create table {table}: {str(getattr(exc, 'orig', exc)).splitlines()[0]}") from None
    finally:
        engine.dispose()


def _scalar(cur, sql: str, args: tuple = ()):
    cur.execute(sql, args)
    row = cur.fetchone()
    return row[0] if row else None


def next_updated_at(cur, table: str) -> dt.datetime:
    """max(the MySQL server's UTC clock, the table's latest updated_at + 1 µs).

    The server's clock, not this process's: the ingestion's safety lag (docs/ingestion.md) measures
    ``now − L`` on the server, so the stamp and the cut-off share one clock (no skew to cover)."""
    now = _scalar(cur, "SELECT UTC_TIMESTAMP(6)")
    latest = _scalar(cur, f"SELECT MAX(updated_at) FROM `{table}`")
    return max(now, latest + dt.timedelta(microseconds=1)) if latest else now


def is_empty(cur, table: str) -> bool:
    return _scalar(cur, f"SELECT COUNT(*) FROM (SELECT 1 FROM `{table}` LIMIT 1) x") == 0


def _q(name: str) -> str:
    return f"`{name}`"


@dataclass
class WriteResult:
    mode: str  # fresh | merge
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0  # soft-deleted by --replace
    updated_at: str | None = None
    # expected quarantine of the written rows: {reason: rows}, and rows with any reason
    reasons: dict = field(default_factory=dict)
    quarantine_rows: int = 0


class FreshWriter:
    """An empty table: load a copy without secondary indexes (``<table>__loading``, committed chunk by
    chunk, invisible to readers), build the indexes once (sorted build), then swap it in with one atomic
    ``RENAME TABLE``. Bad rows are tracked by row_id (= file order) for the quarantine estimate."""

    mode = "fresh"

    def __init__(self, conn, table: str, ts: dt.datetime, loader):
        self.conn, self.table, self.ts, self.loader = conn, table, ts, loader
        self.stage = f"{table}__loading"
        self.bad_rows: list[np.ndarray] = []
        self.bad_bits: list[np.ndarray] = []
        self.rows = 0
        with conn.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS `{self.stage}`")  # left by a load that was killed
            cur.execute(f"CREATE TABLE `{self.stage}` LIKE `{table}`")
            cur.execute(
                "SELECT index_name, GROUP_CONCAT(CONCAT('`', column_name, '`') ORDER BY seq_in_index), "
                "MIN(non_unique) FROM information_schema.statistics WHERE table_schema = DATABASE() "
                "AND table_name = %s AND index_name <> 'PRIMARY' GROUP BY index_name ORDER BY index_name",
                (self.stage,),
            )
            self.indexes = cur.fetchall()
            if self.indexes:
                cur.execute(f"ALTER TABLE `{self.stage}` " + ", ".join(f"DROP INDEX `{i[0]}`" for i in self.indexes))
        conn.commit()

    def write(self, df: pd.DataFrame, bits: np.ndarray) -> None:
        n = len(df)
        row_id = np.arange(self.rows + 1, self.rows + n + 1, dtype=np.int64)
        df = df.copy()
        df.insert(0, "row_id", row_id)
        df["deleted"] = False
        df["updated_at"] = pd.Timestamp(self.ts)
        bad = bits != 0
        if bad.any():
            self.bad_rows.append(row_id[bad])
            self.bad_bits.append(bits[bad])
        self.loader.load(self.stage, df)
        self.rows += n

    def finish(self, reason_names: list[str]) -> WriteResult:
        idc = _q(cols.id_column(self.table))
        stage, t = _q(self.stage), _q(self.table)
        with self.conn.cursor() as cur:
            self.conn.commit()
            if self.indexes:
                cur.execute(
                    f"ALTER TABLE {stage} "
                    + ", ".join(
                        f"ADD {'' if nonunique else 'UNIQUE '}INDEX `{name}` ({columns})"
                        for name, columns, nonunique in self.indexes
                    )
                )
            # any duplicate id? one ordered scan of the id index (0.02 CPU-s per 2e5 rows); only then the
            # rows after each id's first (its derived table sorts: 0.3 CPU-s per 2e5 rows)
            cur.execute(f"SELECT 1 FROM {stage} GROUP BY {idc} HAVING COUNT(*) > 1 LIMIT 1")
            dups = np.zeros(0, np.int64)
            if cur.fetchall():
                cur.execute(
                    f"SELECT s.row_id FROM {stage} s JOIN (SELECT {idc} AS id, MIN(row_id) AS first "
                    f"FROM {stage} GROUP BY {idc} HAVING COUNT(*) > 1) d ON s.{idc} = d.id "
                    f"WHERE s.row_id > d.first"
                )
                dups = np.fromiter((r[0] for r in cur.fetchall()), dtype=np.int64)
            if not is_empty(cur, self.table):
                raise LoadError(
                    f"{self.table} received rows from another writer during the load; "
                    f"nothing was written: run the load again"
                )
            old = f"{self.table}__replaced"
            cur.execute(f"DROP TABLE IF EXISTS `{old}`")
            cur.execute(f"RENAME TABLE {t} TO `{old}`, {stage} TO {t}")  # atomic swap
            cur.execute(f"DROP TABLE `{old}`")
        self.conn.commit()
        bad_rows = np.concatenate(self.bad_rows) if self.bad_rows else np.zeros(0, np.int64)
        bad_bits = np.concatenate(self.bad_bits) if self.bad_bits else np.zeros(0, np.int64)
        reasons = _count_bits(bad_bits, reason_names)
        if len(dups):
            reasons["duplicate_id"] = int(len(dups))
        return WriteResult(
            "fresh",
            inserted=self.rows,
            updated_at=self.ts.isoformat(timespec="microseconds"),
            reasons=reasons,
            quarantine_rows=int(len(np.union1d(bad_rows, dups))),
        )

    def drop(self) -> None:
        with self.conn.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS `{self.stage}`")


def _count_bits(bits: np.ndarray, reason_names: list[str], weights: np.ndarray | None = None) -> dict:
    out = {}
    for i, name in enumerate(reason_names):
        hit = (bits & (1 << i)) != 0
        k = int(weights[hit].sum()) if weights is not None else int(hit.sum())
        if k:
            out[name] = k
    return out


class MergeWriter:
    """Into a TEMPORARY staging table, then one merge transaction."""

    mode = "merge"

    def __init__(self, conn, table: str, loader, columns: list[str], replace: bool):
        self.conn, self.table, self.loader, self.replace = conn, table, loader, replace
        # --upsert compares and sets the columns the file provides; --replace all of them
        self.columns = cols.value_columns(table) if replace else columns
        self.rows = 0
        self._create_stage()

    def _create_stage(self) -> None:
        from sqlalchemy import BigInteger, Column, Integer, MetaData, SmallInteger, Table, text
        from sqlalchemy.dialects import mysql
        from sqlalchemy.schema import CreateTable

        t = cols.table(self.table)
        stage = Table(
            STAGE,
            MetaData(),
            *[Column(c, t.c[c].type, nullable=True) for c in cols.value_columns(self.table)],
            Column("_seq", BigInteger, primary_key=True, autoincrement=False),
            Column("_bad", Integer, nullable=False, server_default=text("0")),
            Column("_occ", Integer, nullable=False, server_default=text("1")),
            Column("_target", BigInteger, nullable=True),
            Column("_changed", SmallInteger, nullable=False, server_default=text("0")),
            prefixes=["TEMPORARY"],
            mysql_engine="InnoDB",
            mysql_charset="utf8mb4",
        )
        ddl = str(CreateTable(stage).compile(dialect=mysql.dialect()))
        with self.conn.cursor() as cur:
            for name in (STAGE, "_rs_load_dup", "_rs_load_match"):
                cur.execute(f"DROP TEMPORARY TABLE IF EXISTS `{name}`")
            cur.execute(ddl)
        self.conn.commit()

    def write(self, df: pd.DataFrame, bits: np.ndarray) -> None:
        df = df.copy()
        df["_seq"] = np.arange(self.rows, self.rows + len(df), dtype=np.int64)
        df["_bad"] = bits.astype(np.int64)
        self.loader.load(STAGE, df)
        self.rows += len(df)

    def prepare(self) -> None:
        """Match file rows to table rows (before the merge transaction: DDL commits implicitly)."""
        t, idc = _q(self.table), _q(cols.id_column(self.table))
        with self.conn.cursor() as cur:
            cur.execute(f"ALTER TABLE `{STAGE}` ADD INDEX ix_id ({idc}, _seq)")
            cur.execute(
                f"CREATE TEMPORARY TABLE _rs_load_dup (PRIMARY KEY (_seq)) ENGINE=InnoDB AS "
                f"SELECT _seq, ROW_NUMBER() OVER (PARTITION BY {idc} ORDER BY _seq) AS occ FROM `{STAGE}` "
                f"WHERE {idc} IN (SELECT {idc} FROM `{STAGE}` GROUP BY {idc} HAVING COUNT(*) > 1)"
            )
            cur.execute(f"UPDATE `{STAGE}` s JOIN _rs_load_dup d ON d._seq = s._seq SET s._occ = d.occ")
            cur.execute(
                f"CREATE TEMPORARY TABLE _rs_load_match (PRIMARY KEY (id, occ)) ENGINE=InnoDB AS "
                f"SELECT x.id, x.occ, x.row_id FROM (SELECT t.{idc} AS id, t.row_id, "
                f"ROW_NUMBER() OVER (PARTITION BY t.{idc} ORDER BY t.row_id) AS occ FROM {t} t "
                f"WHERE t.{idc} IN (SELECT {idc} FROM `{STAGE}`)) x"
            )
            cur.execute(
                f"UPDATE `{STAGE}` s JOIN _rs_load_match m ON m.id = s.{idc} AND m.occ = s._occ "
                f"SET s._target = m.row_id"
            )
            cur.execute(f"ALTER TABLE `{STAGE}` ADD INDEX ix_target (_target)")
        self.conn.commit()

    def finish(self, reason_names: list[str], ts: dt.datetime | None = None) -> WriteResult:
        self.prepare()
        t = _q(self.table)
        c = [_q(x) for x in self.columns]
        same = " AND ".join(f"t.{x} <=> s.{x}" for x in c)
        with self.conn.cursor() as cur:
            ts = ts or next_updated_at(cur, self.table)
            cur.execute(
                f"UPDATE `{STAGE}` s JOIN {t} t ON t.row_id = s._target SET s._changed = 1 "
                f"WHERE NOT (t.deleted = 0 AND {same})"
            )
            cur.execute(
                f"UPDATE {t} t JOIN `{STAGE}` s ON t.row_id = s._target "
                f"SET {', '.join(f't.{x} = s.{x}' for x in c)}, t.deleted = 0, t.updated_at = %s "
                f"WHERE s._changed = 1",
                (ts,),
            )
            updated = cur.rowcount
            deleted = 0
            if self.replace:  # before the inserts: the rows about to be inserted are in the file
                cur.execute(
                    f"UPDATE {t} t LEFT JOIN `{STAGE}` s ON s._target = t.row_id "
                    f"SET t.deleted = 1, t.updated_at = %s WHERE t.deleted = 0 AND s._seq IS NULL",
                    (ts,),
                )
                deleted = cur.rowcount
            cur.execute(
                f"INSERT INTO {t} ({', '.join(c)}, deleted, updated_at) "
                f"SELECT {', '.join(c)}, 0, %s FROM `{STAGE}` WHERE _target IS NULL ORDER BY _seq",
                (ts,),
            )
            inserted = cur.rowcount
            cur.execute(
                f"SELECT _bad, _occ > 1, COUNT(*) FROM `{STAGE}` "
                f"WHERE _changed = 1 OR _target IS NULL GROUP BY _bad, _occ > 1"
            )
            groups = cur.fetchall()
        bits = np.array([g[0] for g in groups], dtype=np.int64)
        dup = np.array([bool(g[1]) for g in groups], dtype=bool)
        n = np.array([g[2] for g in groups], dtype=np.int64)
        reasons = _count_bits(bits, reason_names, n)
        if dup.any():
            reasons["duplicate_id"] = int(n[dup].sum())
        bad = int(n[(bits != 0) | dup].sum()) if len(n) else 0
        return WriteResult(
            "merge",
            inserted=inserted,
            updated=updated,
            unchanged=self.rows - inserted - updated,
            deleted=deleted,
            updated_at=ts.isoformat(timespec="microseconds"),
            reasons=reasons,
            quarantine_rows=bad,
        )

    def drop(self) -> None:
        with self.conn.cursor() as cur:
            for name in (STAGE, "_rs_load_dup", "_rs_load_match"):
                cur.execute(f"DROP TEMPORARY TABLE IF EXISTS `{name}`")
