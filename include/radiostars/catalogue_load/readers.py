"""Chunked readers of published tables: FITS binary tables, CSV/ECSV/VizieR-TSV, Parquet, VOTable.

Every reader exposes the file's columns (name, unit string, UCD, kind) and yields chunks of at most
``chunk_rows`` rows as ``{column: pyarrow.Array}`` (nulls as Arrow nulls) for the columns asked for.
Memory is bounded by one chunk:

* FITS: astropy reads the header (column formats, TUNIT, TNULL, TSCAL/TZERO, data offset); row slices
  are read with positioned reads into a NumPy record array of the on-disk dtype (no memory map, so the
  pages already read do not stay in the process's resident set).
* CSV: pyarrow's streaming reader; ECSV's YAML header (astropy) and VizieR's unit row give units.
* Parquet: ``ParquetFile.iter_batches``; astropy's ``table_meta_yaml`` gives units and masks.
* VOTable: TABLEDATA is streamed row by row with astropy's XML iterator; BINARY/BINARY2 with fixed-width
  fields (numbers, fixed-length strings) are base64-decoded block by block and cut into rows with NumPy;
  a stream with variable-length fields (``arraysize="*"``) or the FITS serialisation is read whole by
  astropy (only the mapped columns kept): memory grows with the file — documented in docs/data.md.
"""

from __future__ import annotations

import gzip
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from radiostars.catalogue_load.errors import LoadError

FORMATS = ("votable", "fits", "csv", "parquet")
_EXTENSIONS = {
    ".vot": "votable",
    ".votable": "votable",
    ".xml": "votable",
    ".fits": "fits",
    ".fit": "fits",
    ".fts": "fits",
    ".csv": "csv",
    ".ecsv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


@dataclass(frozen=True)
class SourceColumn:
    name: str
    unit: str | None = None
    ucd: str | None = None
    kind: str = "float"  # float | int | str | bool | other


# ---- format detection -------------------------------------------------------------------------
def _sniff(head: bytes) -> str | None:
    """What the first bytes look like: fits / parquet / votable / csv (text) / None (binary)."""
    if head.startswith(b"SIMPLE  ="):
        return "fits"
    if head.startswith(b"PAR1"):
        return "parquet"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<"):
        return "votable" if b"<VOTABLE" in head.upper() else "xml"
    if b"\x00" in head:
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        try:
            head[:-4].decode("utf-8")  # a multi-byte character cut at the end of the sample
        except UnicodeDecodeError:
            return None
    return "csv"


def _open_bytes(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def detect_format(path: Path, declared: str | None) -> str:
    """The format to read ``path`` as: ``declared`` (checked against the content) or the extension's."""
    if declared is not None and declared not in FORMATS:
        raise LoadError(f"unknown format {declared!r}; choose from {', '.join(FORMATS)}")
    if not path.is_file():
        raise LoadError(f"{path}: no such file")
    suffixes = [s.lower() for s in path.suffixes]
    gz = bool(suffixes) and suffixes[-1] == ".gz"
    ext = suffixes[-2] if gz and len(suffixes) > 1 else (suffixes[-1] if suffixes else "")
    by_ext = _EXTENSIONS.get(ext)
    fmt = declared or by_ext
    if fmt is None:
        raise LoadError(
            f"{path.name}: cannot tell the format from the extension {ext or '(none)'!r}; "
            f"pass --format {'|'.join(FORMATS)}"
        )
    try:
        with _open_bytes(path) as f:
            head = f.read(4096)
    except (OSError, EOFError) as exc:
        raise LoadError(f"{path.name}: cannot read the file ({exc})") from None
    if not head:
        raise LoadError(f"{path.name}: the file is empty")
    seen = _sniff(head)
    if seen != fmt:
        what = {
            "fits": "a FITS file",
            "parquet": "a Parquet file",
            "votable": "a VOTable",
            "xml": "an XML file that is not a VOTable",
            "csv": "a text (CSV) file",
            None: "a binary file of unknown kind",
        }[seen]
        source = f"--format {declared}" if declared else f"its extension {ext}"
        hint = f"; pass --format {seen}" if seen in FORMATS else ""
        raise LoadError(f"{path.name} is not {_article(fmt)} as {source} says: it looks like {what}{hint}")
    if gz and fmt in ("fits", "parquet"):
        raise LoadError(
            f"{path.name}: a compressed {fmt} file cannot be read in row slices; "
            f"decompress it first (gunzip {path.name})"
        )
    return fmt


def _article(fmt: str) -> str:
    return {"fits": "a FITS file", "parquet": "a Parquet file", "votable": "a VOTable", "csv": "a CSV file"}[fmt]


def open_reader(path: Path, fmt: str):
    return {"fits": FitsReader, "csv": CsvReader, "parquet": ParquetReader, "votable": VOTableReader}[fmt](path)


def _kind_of_numpy(dtype: np.dtype) -> str:
    return {"f": "float", "i": "int", "u": "int", "b": "bool", "S": "str", "U": "str", "O": "str"}.get(
        dtype.kind, "other"
    )


def _kind_of_arrow(t: pa.DataType) -> str:
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t):
        return "str"
    return "other"


def _masked_to_arrow(values: np.ndarray, mask: np.ndarray | None) -> pa.Array:
    if values.dtype.kind in "SU":
        values = np.char.strip(values.astype("U")) if values.dtype.kind == "S" else values
        values = values.astype(object)
    if values.dtype.byteorder == ">":
        values = values.astype(values.dtype.newbyteorder("="))
    if mask is not None and mask.any():
        return pa.array(values, mask=mask, from_pandas=values.dtype.kind == "f")
    return pa.array(values, from_pandas=values.dtype.kind == "f")


# ---- FITS ---------------------------------------------------------------------------------------
class FitsReader:
    """The first binary-table HDU of a FITS file, read in row slices."""

    def __init__(self, path: Path):
        from astropy.io import fits

        self.path = path
        try:
            with warnings.catch_warnings(), fits.open(path, memmap=False, lazy_load_hdus=True) as hdul:
                warnings.simplefilter("ignore")  # e.g. "may have been truncated": our own error says it in one line
                hdu = next((h for h in hdul if isinstance(h, fits.BinTableHDU)), None)
                if hdu is None:
                    raise LoadError(f"{path.name}: no binary table (BINTABLE extension) in this FITS file")
                self.header = hdu.header.copy()
                self.fits_columns = list(hdu.columns)
                self.offset = hdu.fileinfo()["datLoc"]
        except LoadError:
            raise
        except Exception as exc:  # noqa: BLE001 - astropy raises many kinds for a broken file
            raise LoadError(f"{path.name}: not a readable FITS file ({str(exc).splitlines()[0]})") from None
        self.rows = int(self.header["NAXIS2"])
        self.row_bytes = int(self.header["NAXIS1"])
        fields = []
        for c in self.fits_columns:
            rec = c.format.recformat  # e.g. 'i8', 'f8', 'S3', '2f8', 'a'
            if c.format.startswith(("P", "Q")) or "P" in c.format or "Q" in c.format:
                fields.append((c.name, f"V{c.format.dtype.itemsize * (c.format.repeat or 1)}"))
                continue
            dt = np.dtype(rec)
            fields.append((c.name, dt.newbyteorder(">") if dt.kind in "iuf" else dt))
        try:
            self.raw_dtype = np.dtype(fields)
        except (TypeError, ValueError) as exc:
            raise LoadError(f"{path.name}: unsupported FITS column formats ({exc})") from None
        if self.raw_dtype.itemsize != self.row_bytes:
            raise LoadError(
                f"{path.name}: row width {self.raw_dtype.itemsize} of the column formats differs "
                f"from NAXIS1 = {self.row_bytes}; the table has columns this reader cannot slice"
            )
        self.columns = []
        for c in self.fits_columns:
            dt = self.raw_dtype[c.name]
            kind = "other" if dt.shape else _kind_of_numpy(dt)
            if c.format.upper().endswith("L"):
                kind = "bool"
            if kind == "int" and c.bzero == 2**63 and dt.itemsize == 8:
                kind = "int"
            if kind == "int" and c.bscale not in (None, 1, 1.0):
                kind = "float"
            self.columns.append(SourceColumn(c.name, c.unit, None, kind))

    def iter_chunks(self, names: list[str], chunk_rows: int) -> Iterator[dict[str, pa.Array]]:
        cols = {c.name: c for c in self.fits_columns}
        with open(self.path, "rb") as f:
            for start in range(0, self.rows, chunk_rows):
                n = min(chunk_rows, self.rows - start)
                f.seek(self.offset + start * self.row_bytes)
                buf = f.read(n * self.row_bytes)
                if len(buf) != n * self.row_bytes:
                    raise LoadError(
                        f"{self.path.name}: the file ends before its row {start + len(buf) // self.row_bytes} "
                        f"of {self.rows} (truncated download?)"
                    )
                raw = np.frombuffer(buf, dtype=self.raw_dtype)
                yield {name: self._column(raw, cols[name]) for name in names}

    @staticmethod
    def _column(raw: np.ndarray, c) -> pa.Array:
        v = raw[c.name]
        fmt = c.format.upper()
        if fmt.endswith("L"):  # logical: 'T' / 'F' / 0 (null)
            b = v.view("S1").reshape(len(v))
            return pa.array(b == b"T", mask=(b != b"T") & (b != b"F"))
        if v.dtype.kind in "iu":
            mask = (v == c.null) if c.null is not None else None
            zero, scale = c.bzero, c.bscale
            if zero == 2**63 and v.dtype.itemsize == 8 and scale in (None, 1):  # unsigned 64-bit convention
                v = v.astype(np.int64).view(np.uint64) ^ np.uint64(2**63)
            elif scale not in (None, 1, 1.0) or zero not in (None, 0):
                v = v.astype(np.float64) * (scale or 1.0) + (zero or 0.0)
            else:
                v = v.astype(v.dtype.newbyteorder("="))
            return _masked_to_arrow(v, mask)
        if v.dtype.kind == "f":
            v = v.astype(np.float64)
            if c.bscale not in (None, 1, 1.0) or c.bzero not in (None, 0):
                v = v * (c.bscale or 1.0) + (c.bzero or 0.0)
            return pa.array(v, from_pandas=True)
        if v.dtype.kind == "S":
            s = np.char.rstrip(v).astype("U").astype(object)
            empty = s == ""
            return pa.array(s, mask=empty if empty.any() else None)
        raise LoadError(f"FITS column {c.name} has format {c.format}, which cannot be loaded into a scalar column")


# ---- CSV / ECSV / VizieR TSV --------------------------------------------------------------------
class CsvReader:
    """Delimited text: CSV (Gaia archive, pandas), ECSV (astropy: units in the YAML header) and
    VizieR's tab-separated output (``#`` comments, a unit row and a dashes row under the header)."""

    def __init__(self, path: Path):
        self.path = path
        opener = (
            (lambda: gzip.open(path, "rt", encoding="utf-8", errors="replace"))
            if path.suffix == ".gz"
            else (lambda: open(path, encoding="utf-8", errors="replace"))
        )
        comments: list[str] = []
        with opener() as f:
            line = f.readline()
            skipped = 0
            while line.startswith("#") or (line and not line.strip()):  # comments, blank lines (VizieR)
                if line.startswith("#"):
                    comments.append(line)
                skipped += 1
                line = f.readline()
            header = line.rstrip("\r\n")
            second = f.readline().rstrip("\r\n")
            third = f.readline().rstrip("\r\n")
        if not header.strip():
            raise LoadError(f"{path.name}: no header line (column names) found")
        self.delimiter = "\t" if "\t" in header else ("," if "," in header else (";" if ";" in header else " "))
        names = [h.strip().strip('"') for h in header.split(self.delimiter)]
        self.skip_rows = skipped
        self.skip_after_names = 0
        units: dict[str, str | None] = {}
        ucds: dict[str, str | None] = {}
        kinds: dict[str, str] = {}
        if comments and comments[0].startswith("# %ECSV"):
            from astropy.table import meta as table_meta

            try:
                hdr = table_meta.get_header_from_yaml(
                    c.rstrip("\n")[2:] if c.startswith("# ") else c[1:].rstrip("\n") for c in comments[1:]
                )
            except Exception as exc:  # noqa: BLE001
                raise LoadError(f"{path.name}: unreadable ECSV header ({exc})") from None
            for col in hdr.get("datatype", []):
                units[col["name"]] = col.get("unit")
                meta = col.get("meta") or {}
                ucds[col["name"]] = dict(meta).get("ucd") if meta else None
                dt = col.get("datatype", "")
                kinds[col["name"]] = (
                    "float32"
                    if dt == "float32"
                    else "float"
                    if dt.startswith("float")
                    else "int"
                    if "int" in dt
                    else "bool"
                    if dt == "bool"
                    else "str"
                )
            self.delimiter = hdr.get("delimiter", " ")
            names = [h.strip().strip('"') for h in header.split(self.delimiter)]
        elif third and set(third.replace(self.delimiter, "").strip()) <= {"-"} and third.strip():
            units = {n: (u.strip() or None) for n, u in zip(names, second.split(self.delimiter))}
            self.skip_after_names = 2
        self.names = names
        self.float32 = {n for n, k in kinds.items() if k == "float32"}  # ECSV: single precision values
        self.columns = [
            SourceColumn(n, units.get(n), ucds.get(n), "float" if kinds.get(n) == "float32" else kinds.get(n, "text"))
            for n in names
        ]

    def iter_chunks(
        self, names: list[str], chunk_rows: int, types: dict[str, pa.DataType] | None = None
    ) -> Iterator[dict[str, pa.Array]]:
        import pyarrow.csv as pacsv

        types = dict(types or {})
        for n in names:
            if n in self.float32:
                types[n] = pa.float32()
        read = pacsv.ReadOptions(
            skip_rows=self.skip_rows,
            skip_rows_after_names=self.skip_after_names,
            block_size=max(1 << 20, chunk_rows * 64),
        )
        parse = pacsv.ParseOptions(delimiter=self.delimiter, quote_char='"', ignore_empty_lines=True)
        null_values = ["", "NaN", "nan", "NULL", "null", "N/A", "NA", "-nan", "--", "-- "]
        convert = pacsv.ConvertOptions(
            include_columns=names,
            column_types=types,
            null_values=null_values,
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        )
        try:
            reader = pacsv.open_csv(self.path, read_options=read, parse_options=parse, convert_options=convert)
            pending: list[pa.RecordBatch] = []
            held = 0
            for batch in reader:
                pending.append(batch)
                held += batch.num_rows
                while held >= chunk_rows:
                    table = pa.Table.from_batches(pending).combine_chunks()
                    head, rest = table.slice(0, chunk_rows), table.slice(chunk_rows)
                    yield {n: head.column(n).combine_chunks() for n in names}
                    pending, held = rest.to_batches(), rest.num_rows
            if held:
                table = pa.Table.from_batches(pending)
                yield {n: table.column(n).combine_chunks() for n in names}
        except pa.ArrowInvalid as exc:
            raise LoadError(f"{self.path.name}: {str(exc).splitlines()[0]}") from None


# ---- Parquet ------------------------------------------------------------------------------------
class ParquetReader:
    def __init__(self, path: Path):
        import pyarrow.parquet as pq

        self.path = path
        try:
            self.file = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise LoadError(f"{path.name}: not a readable Parquet file ({exc})") from None
        schema = self.file.schema_arrow
        units: dict[str, str | None] = {}
        ucds: dict[str, str | None] = {}
        meta = schema.metadata or {}
        if b"table_meta_yaml" in meta:  # written by astropy: units, UCDs, masks as '<col>.mask' columns
            from astropy.table import meta as table_meta

            try:
                hdr = table_meta.get_header_from_yaml(meta[b"table_meta_yaml"].decode().splitlines())
                for col in hdr.get("datatype", []):
                    units[col["name"]] = col.get("unit")
                    m = col.get("meta") or {}
                    ucds[col["name"]] = dict(m).get("ucd") if m else None
            except Exception:  # noqa: BLE001 - units are then simply unknown
                pass
        self.mask_columns = {n[:-5] for n in schema.names if n.endswith(".mask")}
        self.columns = [
            SourceColumn(f.name, units.get(f.name), ucds.get(f.name), _kind_of_arrow(f.type))
            for f in schema
            if not f.name.endswith(".mask")
        ]
        self.rows = self.file.metadata.num_rows

    def iter_chunks(self, names: list[str], chunk_rows: int) -> Iterator[dict[str, pa.Array]]:
        read = list(names) + [f"{n}.mask" for n in names if n in self.mask_columns]
        for batch in self.file.iter_batches(batch_size=chunk_rows, columns=read):
            out = {}
            for n in names:
                arr = batch.column(n)
                if n in self.mask_columns:
                    import pyarrow.compute as pc

                    arr = pc.if_else(pc.fill_null(batch.column(f"{n}.mask"), False), pa.scalar(None, arr.type), arr)
                out[n] = arr
            yield out


# ---- VOTable ------------------------------------------------------------------------------------
_VOT_KIND = {
    "double": "float",
    "float": "float",
    "long": "int",
    "int": "int",
    "short": "int",
    "unsignedByte": "int",
    "boolean": "bool",
    "char": "str",
    "unicodeChar": "str",
    "bit": "other",
    "floatComplex": "other",
    "doubleComplex": "other",
}


class VOTableReader:
    """The first TABLE of a VOTable. TABLEDATA is streamed; other serialisations are read by astropy."""

    def __init__(self, path: Path):
        self.path = path
        self.fields: list[dict] = []
        self.serialization = None
        self.error: str | None = None
        self._scan_header()
        if self.error:
            raise LoadError(f"{path.name}: the VOTable reports an error: {self.error}")
        if not self.fields:
            raise LoadError(f"{path.name}: no TABLE with FIELDs in this VOTable")
        if self.serialization is None:
            raise LoadError(f"{path.name}: the VOTable's first TABLE has no DATA")
        self.columns = []
        for f in self.fields:
            kind = _VOT_KIND.get(f.get("datatype", ""), "other")
            size = f.get("arraysize")
            if kind != "str" and size not in (None, "1"):
                kind = "other"
            self.columns.append(SourceColumn(f["name"], f.get("unit"), f.get("ucd"), kind))

    def _iterator(self):
        from astropy.utils.xml import iterparser

        return iterparser.get_xml_iterator(str(self.path))

    def _scan_header(self) -> None:
        try:
            with self._iterator() as it:
                in_field = None
                in_table = False
                for start, tag, data, _pos in it:
                    tag = tag.rsplit("}", 1)[-1]
                    if start and tag == "TABLE":
                        if in_table or self.fields:
                            break
                        in_table = True
                    elif start and tag == "FIELD" and in_table:
                        in_field = dict(data)
                        in_field.setdefault("name", in_field.get("ID", f"col{len(self.fields)}"))
                        self.fields.append(in_field)
                    elif start and tag == "VALUES" and in_field is not None and "null" in data:
                        in_field["null"] = data["null"]
                    elif not start and tag == "FIELD":
                        in_field = None
                    elif start and tag in ("TABLEDATA", "BINARY", "BINARY2", "FITS") and in_table:
                        self.serialization = tag
                        break
                    elif (
                        start and tag == "INFO" and data.get("name") == "QUERY_STATUS" and data.get("value") == "ERROR"
                    ):
                        self.error = data.get("value")
                    elif not start and tag == "INFO" and self.error == "ERROR" and data:
                        self.error = data.strip()
        except LoadError:
            raise
        except Exception as exc:  # noqa: BLE001 - expat / astropy errors of a broken file
            raise LoadError(f"{self.path.name}: not a readable VOTable ({str(exc).splitlines()[0]})") from None

    def iter_chunks(self, names: list[str], chunk_rows: int) -> Iterator[dict[str, pa.Array]]:
        if self.serialization == "TABLEDATA":
            yield from self._tabledata(names, chunk_rows)
        elif self.serialization in ("BINARY", "BINARY2") and self._binary_dtype() is not None:
            yield from self._binary(names, chunk_rows)
        else:
            yield from self._whole(names, chunk_rows)

    _BINARY_TYPES = {
        "boolean": "S1",
        "bit": "u1",
        "unsignedByte": "u1",
        "short": ">i2",
        "int": ">i4",
        "long": ">i8",
        "float": ">f4",
        "double": ">f8",
        "char": "S",
        "unicodeChar": "U",
    }

    def _binary_dtype(self) -> np.dtype | None:
        """The row layout of a BINARY/BINARY2 stream when every field has a fixed width (then rows are
        cut from the decoded stream with NumPy, chunk by chunk); None when a field is variable-length."""
        fields = []
        if self.serialization == "BINARY2":
            fields.append(("_nulls", "u1", ((len(self.fields) + 7) // 8,)))
        for i, f in enumerate(self.fields):
            code = self._BINARY_TYPES.get(f.get("datatype", ""))
            size = f.get("arraysize")
            if code is None or (size is not None and ("*" in size or "x" in size)):
                return None
            if code in ("S", "U"):
                n = int(size or 1)
                fields.append((f"f{i}", f"S{n}" if code == "S" else ">u2", () if code == "S" else (n,)))
            elif size not in (None, "1"):
                return None
            else:
                fields.append((f"f{i}", code))
        return np.dtype(fields)

    def _stream_text(self, block: int = 1 << 20) -> Iterator[bytes]:
        """The base64 text of the first <STREAM> in blocks (whitespace removed), without reading the
        file whole."""
        with open(self.path, "rb") as f:
            buf = b""
            while True:  # find the opening tag of the stream
                data = f.read(block)
                if not data:
                    raise LoadError(f"{self.path.name}: no <STREAM> in the VOTable's {self.serialization} data")
                buf += data
                at = buf.find(b"<STREAM")
                if at >= 0:
                    end = buf.find(b">", at)
                    if end >= 0:
                        if b"href=" in buf[at:end]:
                            raise LoadError(
                                f"{self.path.name}: the VOTable's data is in an external stream (href); "
                                f"download it as a single file"
                            )
                        buf = buf[end + 1 :]
                        break
                buf = buf[-64:]
            while True:
                stop = buf.find(b"<")
                chunk = buf if stop < 0 else buf[:stop]
                yield chunk.translate(None, b" \t\r\n")
                if stop >= 0:
                    return
                buf = f.read(block)
                if not buf:
                    raise LoadError(f"{self.path.name}: the VOTable ends inside its data stream (truncated download?)")

    def _binary(self, names: list[str], chunk_rows: int) -> Iterator[dict[str, pa.Array]]:
        import base64

        dtype = self._binary_dtype()
        index = {f["name"]: i for i, f in enumerate(self.fields)}
        rest, raw = b"", b""
        rows_bytes = dtype.itemsize * chunk_rows
        for text in self._stream_text():
            text = rest + text
            cut = len(text) - len(text) % 4
            raw += base64.b64decode(text[:cut])
            rest = text[cut:]
            while len(raw) >= rows_bytes:
                yield self._binary_chunk(np.frombuffer(raw[:rows_bytes], dtype), names, index)
                raw = raw[rows_bytes:]
        if rest:
            raise LoadError(f"{self.path.name}: the VOTable's base64 stream is cut short")
        if len(raw) % dtype.itemsize:
            raise LoadError(f"{self.path.name}: the VOTable's binary stream ends inside a row (truncated download?)")
        if raw:
            yield self._binary_chunk(np.frombuffer(raw, dtype), names, index)

    def _binary_chunk(self, rows: np.ndarray, names: list[str], index: dict[str, int]) -> dict[str, pa.Array]:
        out = {}
        nulls_bits = np.unpackbits(rows["_nulls"], axis=1) if "_nulls" in rows.dtype.names else None
        for name in names:
            i = index[name]
            f = self.fields[i]
            v = rows[f"f{i}"]
            mask = nulls_bits[:, i].astype(bool) if nulls_bits is not None else None
            dt = f.get("datatype")
            if dt == "boolean":
                b = np.char.upper(v.astype("S1"))
                bad = ~np.isin(b, [b"T", b"1", b"F", b"0"])
                out[name] = pa.array(np.isin(b, [b"T", b"1"]), mask=bad if mask is None else (mask | bad))
                continue
            if dt == "char":
                v = np.char.rstrip(np.char.rstrip(v, b"\x00"), b" ").astype("U")
            elif dt == "unicodeChar":
                v = np.array(["".join(map(chr, r[r != 0])).rstrip() for r in v], dtype=object)
            elif f.get("null") is not None and v.dtype.kind in "iu":  # BINARY: nulls by VALUES null
                m = v == int(f["null"])
                mask = m if mask is None else (mask | m)
            out[name] = _masked_to_arrow(np.asarray(v), mask)
        return out

    def _convert(self, idx: int, texts: list) -> pa.Array:
        f = self.fields[idx]
        kind = self.columns[idx].kind
        null = f.get("null")
        vals = np.array([("" if t is None else t.strip()) for t in texts], dtype=object)
        missing = vals == ""
        if null is not None:
            missing |= vals == null
        if kind == "str":
            return pa.array(vals, mask=missing if missing.any() else None)
        if kind == "bool":
            low = np.char.lower(vals.astype(str))
            return pa.array(
                np.isin(low, ["t", "true", "1"]), mask=missing | ~np.isin(low, ["t", "true", "1", "f", "false", "0"])
            )
        filled = np.where(missing, "nan" if kind == "float" else "0", vals).astype(str)
        # a 'float' FIELD is single precision: its text names a float32 value (as astropy reads it)
        dtype = (np.float32 if f.get("datatype") == "float" else np.float64) if kind == "float" else np.int64
        try:
            num = filled.astype(dtype)
        except ValueError as exc:
            raise LoadError(f"{self.path.name}: column {f['name']}: {exc}") from None
        return pa.array(num, mask=missing if missing.any() else None, from_pandas=kind == "float")

    def _tabledata(self, names: list[str], chunk_rows: int) -> Iterator[dict[str, pa.Array]]:
        index = {f["name"]: i for i, f in enumerate(self.fields)}
        wanted = [index[n] for n in names]
        pos = {i: k for k, i in enumerate(wanted)}
        buf: list[list] = [[] for _ in wanted]
        n_rows = 0
        try:
            with self._iterator() as it:
                in_data = False
                col = -1
                row: list = [None] * len(wanted)
                for start, tag, data, _pos in it:
                    tag = tag.rsplit("}", 1)[-1]
                    if not in_data:
                        if start and tag == "TABLEDATA":
                            in_data = True
                        continue
                    if tag == "TD":
                        if start:
                            col += 1
                        elif col in pos:
                            row[pos[col]] = data
                    elif tag == "TR":
                        if start:
                            col = -1
                            row = [None] * len(wanted)
                        else:
                            for k in range(len(wanted)):
                                buf[k].append(row[k])
                            n_rows += 1
                            if n_rows == chunk_rows:
                                yield {n: self._convert(i, buf[k]) for k, (n, i) in enumerate(zip(names, wanted))}
                                buf = [[] for _ in wanted]
                                n_rows = 0
                    elif not start and tag == "TABLEDATA":
                        break
        except LoadError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise LoadError(f"{self.path.name}: broken VOTable data ({str(exc).splitlines()[0]})") from None
        if n_rows:
            yield {n: self._convert(i, buf[k]) for k, (n, i) in enumerate(zip(names, wanted))}

    def _whole(self, names: list[str], chunk_rows: int) -> Iterator[dict[str, pa.Array]]:
        from astropy.io.votable import parse

        try:
            vot = parse(str(self.path), columns=names, verify="ignore")
            table = vot.get_first_table().array
        except Exception as exc:  # noqa: BLE001
            raise LoadError(
                f"{self.path.name}: cannot read the {self.serialization} VOTable data ({str(exc).splitlines()[0]})"
            ) from None
        for start in range(0, len(table), chunk_rows):
            part = table[start : start + chunk_rows]
            out = {}
            for n in names:
                col = part[n]
                data = np.asarray(col.data if hasattr(col, "data") else col)
                mask = np.ma.getmaskarray(col) if np.ma.isMaskedArray(col) else None
                if data.dtype.kind == "O":
                    data = np.array(["" if v is None else str(v) for v in data], dtype=object)
                out[n] = _masked_to_arrow(data, mask)
            yield out
