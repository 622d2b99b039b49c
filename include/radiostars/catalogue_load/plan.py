"""Resolve a file's columns onto a table (built-in map + ``--map`` overrides) and convert chunks.

:func:`resolve` decides, before any row is read, where every column comes from and in which unit,
and fails with one line naming what is missing and the ``--map`` that would fix it, or the unit that
does not fit. :func:`convert_chunk` then turns a chunk of file columns into the table's columns.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from radiostars.catalogue_load import columns as cols
from radiostars.catalogue_load.errors import LoadError
from radiostars.catalogue_load.maps import CatalogueMap, Source, find_map, maps_for, simbad_otype
from radiostars.catalogue_load.readers import SourceColumn
from radiostars.catalogue_load.units import (
    convert_epoch,
    convert_quantity,
    is_time_format,
    parse_unit,
    sexagesimal_deg,
    time_format_for,
)

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


@dataclass
class ColumnPlan:
    target: str
    kind: str  # float | int | str | bool (the schema's)
    source: str | None = None  # the file's column
    const: object = None  # or a constant
    unit: object = None  # astropy unit of the source values
    unit_origin: str = ""  # file | map (publisher's documentation) | --map | schema
    time_format: str | None = None
    sexagesimal: bool = False
    unit_text: str | None = None
    transform: str | None = None

    def describe(self, table: str) -> str:
        t = cols.target(table, self.target)
        src = self.source if self.source is not None else f"constant {self.const!r}"
        extra = ""
        if self.time_format:
            extra = f" ({self.time_format})"
        elif self.sexagesimal:
            extra = " (sexagesimal)"
        elif self.unit is not None:
            extra = f" [{self.unit.to_string()}, from the {self.unit_origin}]"
        return f"{self.target} <- {src}{extra}" + (f" -> {t.describe()}" if t.unit is not None else "")


@dataclass
class Plan:
    table: str
    map: CatalogueMap
    columns: list[ColumnPlan]
    unmapped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def source_columns(self) -> list[str]:
        return list(dict.fromkeys(c.source for c in self.columns if c.source is not None))

    @property
    def targets(self) -> list[str]:
        return [c.target for c in self.columns]

    def csv_types(self, file_columns: dict[str, SourceColumn]) -> dict[str, pa.DataType]:
        """pyarrow types to read CSV columns as (text files carry no types)."""
        types: dict[str, pa.DataType] = {}
        for c in self.columns:
            if c.source is None or file_columns[c.source].kind not in ("text", "float", "int", "str", "bool"):
                continue
            if c.kind == "str" or c.sexagesimal or c.time_format in ("isot", "iso"):
                types[c.source] = pa.string()
            elif c.kind == "int":
                types[c.source] = pa.int64()
            elif c.kind == "bool":
                types[c.source] = pa.bool_()
            else:
                types[c.source] = pa.float64()
        return types


def parse_overrides(items: list[str] | None) -> dict[str, tuple[str, str | None]]:
    """``our=theirs[:unit]`` items -> {our: (theirs, unit or time format)}."""
    out: dict[str, tuple[str, str | None]] = {}
    for item in items or []:
        if "=" not in item:
            raise LoadError(f"--map {item!r}: expected our_column=their_column[:unit]")
        ours, theirs = (s.strip() for s in item.split("=", 1))
        unit = None
        if ":" in theirs and not theirs.startswith("'"):
            theirs, unit = (s.strip() for s in theirs.rsplit(":", 1))
        if not ours or not theirs:
            raise LoadError(f"--map {item!r}: expected our_column=their_column[:unit]")
        out[ours] = (theirs, unit or None)
    return out


def _lookup(name: str, by_lower: dict[str, SourceColumn]) -> SourceColumn | None:
    return by_lower.get(name.lower())


def _score(m: CatalogueMap, by_lower: dict[str, SourceColumn]) -> int:
    return sum(1 for s in m.columns.values() if any(n.lower() in by_lower for n in s.names))


def _by_ucd(ucd: str, file_columns: list[SourceColumn]) -> SourceColumn | None:
    hits = [c for c in file_columns if c.ucd and c.ucd.lower() == ucd.lower()]
    return hits[0] if len(hits) == 1 else None


def _suggest(table: str, target: str, spec: Source | None, file_columns: list[SourceColumn]) -> str:
    names = [c.name for c in file_columns]
    pool = list(spec.names) if spec else []
    pool.append(target)
    guesses: list[str] = []
    for p in pool:
        guesses += difflib.get_close_matches(p, names, n=1, cutoff=0.6)
    if spec and spec.ucd:
        stem = spec.ucd.split(";")[0].lower()
        guesses += [c.name for c in file_columns if c.ucd and c.ucd.lower().startswith(stem)]
    guess = next(iter(dict.fromkeys(guesses)), None)
    return f"--map {target}={guess or '<column>'}"


def resolve(
    table: str,
    file_columns: list[SourceColumn],
    *,
    map_key: str | None = None,
    overrides: dict[str, tuple[str, str | None]] | None = None,
) -> Plan:
    """Where each column of ``table`` comes from in this file, and its unit. LoadError on what is
    missing, unknown or in a unit that cannot be converted."""
    overrides = dict(overrides or {})
    values = cols.value_columns(table)
    bad = [o for o in overrides if o not in values]
    if bad:
        raise LoadError(f"--map {bad[0]}=…: {table} has no column {bad[0]!r}; its columns: {', '.join(values)}")
    by_lower = {c.name.lower(): c for c in file_columns}
    if map_key is not None:
        chosen = find_map(table, map_key)
    else:
        candidates = maps_for(table)
        chosen = max(candidates, key=lambda m: _score(m, by_lower))  # first of equals: the publisher's map
    plans: list[ColumnPlan] = []
    missing: list[str] = []
    notes: list[str] = []
    required = cols.required(table)
    for target in values:
        spec = chosen.columns.get(target)
        kind = cols.kind(table, target)
        plan = ColumnPlan(target, kind, transform=spec.transform if spec else None)
        column: SourceColumn | None = None
        unit_text: str | None = None
        from_override = target in overrides
        if from_override:
            theirs, unit_text = overrides[target]
            column = _lookup(theirs, by_lower)
            if column is None:
                plan.const = _constant(theirs, kind, target, file_columns)
        elif spec is not None:
            column = next((c for c in (_lookup(n, by_lower) for n in spec.names) if c is not None), None)
            if column is None and spec.ucd:
                column = _by_ucd(spec.ucd, file_columns)
            if column is None and spec.const is not None:
                plan.const = spec.const
                if target in required:
                    notes.append(f"{target}: not in the file, set to {spec.const!r} ({chosen.title})")
        if column is not None:
            if column.kind == "other":
                raise LoadError(f"column {column.name} holds arrays or a type that cannot fill {table}.{target}")
            plan.source = column.name
            _plan_units(plan, table, column, spec, unit_text, from_override)
        elif plan.const is None:
            if target in required:
                missing.append(target)
            continue
        elif unit_text:
            _plan_const_unit(plan, table, unit_text)
        plans.append(plan)
    if missing:
        fixes = " ".join(_suggest(table, t, chosen.columns.get(t), file_columns) for t in missing)
        raise LoadError(
            f"missing required column(s) for {table}: {', '.join(missing)} (map used: {chosen.key}); add {fixes}"
        )
    unmapped = [t for t in values if t not in {p.target for p in plans}]
    return Plan(table, chosen, plans, unmapped, notes)


def _constant(text: str, kind: str, target: str, file_columns: list[SourceColumn]):
    """A --map value that is not a column: a number, or a 'quoted' string; else a clear error."""
    if len(text) >= 2 and text[0] == text[-1] == "'":
        if kind != "str":
            raise LoadError(f"--map {target}={text}: a quoted string constant cannot fill a numeric column")
        return text[1:-1]
    if _NUMBER.match(text):
        if kind == "str":
            return text
        return int(text) if kind in ("int", "bool") and "." not in text and "e" not in text.lower() else float(text)
    names = [c.name for c in file_columns]
    close = difflib.get_close_matches(text, names, n=3, cutoff=0.5)
    hint = f" (close: {', '.join(close)})" if close else ""
    raise LoadError(
        f"--map {target}={text}: the file has no column {text!r}{hint}; a constant must be a "
        f"number or a 'quoted' string"
    )


def _plan_units(
    plan: ColumnPlan, table: str, column: SourceColumn, spec: Source | None, unit_text: str | None, from_override: bool
) -> None:
    target = cols.target(table, plan.target)
    what = f"column {column.name}"
    if plan.kind != "float":
        return
    if target.time_format:
        fmt = unit_text if unit_text and is_time_format(unit_text) else None
        if unit_text and fmt is None:
            raise LoadError(
                f"--map {plan.target}={column.name}:{unit_text}: an epoch needs a time format, "
                f"one of mjd, jd, jyear, byear, decimalyear, isot"
            )
        if fmt is None and column.kind in ("str",):
            fmt = "isot"
        if fmt is None:
            src_unit = _file_unit(column, what)
            fmt = time_format_for(src_unit, column.name, None)
            if fmt is None and spec is not None and not from_override and spec.time_format:
                fmt = spec.time_format
            if fmt is None and column.name == plan.target:
                fmt = target.time_format
        if fmt is None:
            raise LoadError(
                f"cannot tell the epoch format of column {column.name} for {table}.{plan.target}; "
                f"say it: --map {plan.target}={column.name}:mjd (or jd, jyear, isot)"
            )
        plan.time_format = fmt
        return
    if column.kind == "str" and plan.target in _positions(table):
        plan.sexagesimal = True
        plan.unit_text = column.unit
        return
    if target.unit is None:
        return
    if unit_text:
        plan.unit, plan.unit_origin = _parse(unit_text, f"--map {plan.target}={column.name}:{unit_text}"), "--map"
    else:
        file_unit = _file_unit(column, what)
        if file_unit is not None:
            plan.unit, plan.unit_origin = file_unit, "file"
        elif spec is not None and spec.unit and not from_override:
            plan.unit, plan.unit_origin = _parse(spec.unit, "map"), "publisher's documentation"
        elif column.name == plan.target:
            plan.unit, plan.unit_origin = target.unit, "schema"
        else:
            raise LoadError(
                f"column {column.name} has no unit in the file; say it: "
                f"--map {plan.target}={column.name}:{target.unit.to_string()}"
            )
    # fail now, before any row is read, if the units cannot be converted
    try:
        convert_quantity(np.zeros(1), plan.unit, target, what)
    except LoadError as exc:
        raise LoadError(
            f"{exc} (unit from the {plan.unit_origin}; if it is wrong there: --map {plan.target}={column.name}:<unit>)"
        ) from None


def _plan_const_unit(plan: ColumnPlan, table: str, unit_text: str) -> None:
    target = cols.target(table, plan.target)
    if target.time_format:
        if not is_time_format(unit_text):
            raise LoadError(f"--map {plan.target}=…:{unit_text}: an epoch needs a time format (mjd, jd, jyear, isot)")
        plan.time_format = unit_text
    elif target.unit is not None:
        plan.unit, plan.unit_origin = _parse(unit_text, f"--map {plan.target}"), "--map"
        convert_quantity(np.zeros(1), plan.unit, target, f"--map {plan.target}")


def _parse(text: str, what: str):
    try:
        return parse_unit(text)
    except LoadError as exc:
        raise LoadError(f"{what}: {exc}") from None


def _file_unit(column: SourceColumn, what: str):
    try:
        return parse_unit(column.unit)
    except LoadError as exc:
        raise LoadError(f"{what}: {exc}; override it with --map <ours>={column.name}:<unit>") from None


def _positions(table: str) -> tuple[str, str]:
    from radiostars.ingest.validate import POSITION

    return POSITION[table]


# ---- chunk conversion ---------------------------------------------------------------------------
@dataclass
class ChunkStats:
    rows_in: int = 0
    no_id: int = 0
    nonfinite: int = 0
    types_mapped: int = 0
    types_kept: dict = field(default_factory=dict)


def _floats(arr: pa.Array) -> np.ndarray:
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        raise LoadError("text where a number was expected")
    return pc.fill_null(pc.cast(arr, pa.float64()), float("nan")).to_numpy(zero_copy_only=False)


def _strings(arr: pa.Array) -> np.ndarray:
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = pc.cast(arr, pa.string())
    arr = pc.utf8_trim_whitespace(arr)
    arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
    return np.asarray(arr.to_pandas(), dtype=object)


def convert_chunk(plan: Plan, chunk: dict[str, pa.Array], n: int, stats: ChunkStats) -> pd.DataFrame:
    """File columns of one chunk -> a DataFrame of the table's columns (schema order), rows without a
    catalogue id dropped (counted in ``stats.no_id``)."""
    table = plan.table
    out: dict[str, np.ndarray] = {}
    for c in plan.columns:
        what = f"column {c.source}" if c.source else f"constant for {c.target}"
        if c.source is None:
            value = c.const
            if c.time_format and c.kind == "float":
                out[c.target] = convert_epoch(
                    np.full(n, float(value)), c.time_format, cols.target(table, c.target), what
                )
            elif c.kind == "float":
                out[c.target] = (
                    convert_quantity(np.full(n, float(value)), c.unit, cols.target(table, c.target), what)
                    if c.unit is not None
                    else np.full(n, float(value))
                )
            else:
                out[c.target] = np.full(n, value, dtype=object if c.kind == "str" else None)
            continue
        arr = chunk[c.source]
        try:
            if c.kind == "float":
                t = cols.target(table, c.target)
                if c.time_format:
                    raw = _strings(arr) if c.time_format in ("isot", "iso") else _floats(arr)
                    v = convert_epoch(raw, c.time_format, t, what)
                elif c.sexagesimal:
                    v = sexagesimal_deg(_strings(arr), c.target in ("ra", "ra_deg"), c.unit_text, what)
                else:
                    v = _floats(arr)
                    if c.unit is not None:
                        v = convert_quantity(v, c.unit, t, what)
                bad = ~np.isfinite(v) & ~np.isnan(v)
                if bad.any():  # ±Inf: MariaDB DOUBLE cannot hold it; NULL as the schema says
                    stats.nonfinite += int(bad.sum())
                    v = np.where(bad, np.nan, v)
                out[c.target] = np.asarray(v, dtype=np.float64)
            elif c.kind == "int":
                if pa.types.is_floating(arr.type):
                    f = _floats(arr)
                    if np.any(np.isfinite(f) & (f != np.round(f))):
                        raise LoadError(f"{what} has non-integer values for the integer column {table}.{c.target}")
                    arr = pc.cast(arr, pa.int64(), safe=False)
                elif pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
                    arr = pc.cast(pc.utf8_trim_whitespace(arr), pa.int64())
                else:
                    arr = pc.cast(arr, pa.int64())
                ints = pc.fill_null(arr, 0).to_numpy(zero_copy_only=False).astype(np.int64)
                # a nullable integer array: ids above 2**53 stay exact (no detour through float)
                out[c.target] = pd.arrays.IntegerArray(ints, pc.is_null(arr).to_numpy(zero_copy_only=False))
            elif c.kind == "bool":
                b = pc.cast(arr, pa.bool_())
                out[c.target] = pc.fill_null(b, False).to_numpy(zero_copy_only=False)
            else:
                s = _strings(arr)
                if c.transform == "simbad_otype":
                    mapped = np.array([simbad_otype(v) for v in s], dtype=object)
                    known = set(cols.object_types())
                    stats.types_mapped += int(sum(1 for a, b in zip(s, mapped) if a is not None and a != b))
                    for v in mapped:
                        if v is not None and v not in known:
                            stats.types_kept[v] = stats.types_kept.get(v, 0) + 1
                    s = mapped
                limit = cols.max_length(table, c.target)
                if limit:
                    long = [v for v in s if v is not None and len(v) > limit]
                    if long:
                        raise LoadError(
                            f"{what}: {len(long)} value(s) longer than the {limit} characters of "
                            f"{table}.{c.target} (first: {long[0][:80]!r})"
                        )
                out[c.target] = s
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError, TypeError) as exc:
            if isinstance(exc, LoadError):
                raise
            raise LoadError(f"{what} cannot fill {table}.{c.target}: {str(exc).splitlines()[0]}") from None
    df = pd.DataFrame(out, index=pd.RangeIndex(n))
    idc = cols.id_column(table)
    has_id = df[idc].notna()
    stats.rows_in += n
    if not has_id.all():
        stats.no_id += int((~has_id).sum())
        df = df[has_id].reset_index(drop=True)
    if cols.kind(table, idc) == "int":
        df[idc] = df[idc].astype(np.int64)
    return df[[c for c in cols.value_columns(table) if c in df.columns]]
