"""Units and epochs of the columns: the target unit of every column comes from the schema's column
comment (``[mas/yr]``, ``[MJD, UTC]`` …), the source unit from the file's metadata (VOTable ``unit``,
FITS ``TUNITn``, ECSV/astropy-Parquet header) or, for files without units, from the built-in map.
Every conversion goes through :mod:`astropy.units` (scale factors computed by astropy, never typed
here) or :class:`astropy.time.Time` (epochs: MJD ↔ JD ↔ Julian year ↔ ISO dates).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from radiostars.catalogue_load.errors import LoadError

# time formats a source epoch can be in (astropy.time format names)
TIME_FORMATS = ("mjd", "jd", "jyear", "byear", "decimalyear", "isot", "iso")
_COMMENT_UNIT = re.compile(r"\[([^\]]+)\]")


@dataclass(frozen=True)
class Target:
    """How one schema column is expressed: a physical unit, an epoch format, or neither."""

    column: str
    unit: object | None = None  # astropy unit for physical quantities
    time_format: str | None = None  # 'mjd' / 'jyear' for epochs
    per_beam: bool = False  # a surface brightness (mJy/beam): a file flux in Jy reads as Jy/beam

    def describe(self) -> str:
        if self.time_format:
            return {"mjd": "MJD", "jyear": "Julian year"}.get(self.time_format, self.time_format)
        return self.unit.to_string() if self.unit is not None else "no unit"


def target_from_comment(column: str, comment: str | None) -> Target:
    """The unit written in brackets in the schema comment of a column (the one home of the units)."""
    import astropy.units as u

    m = _COMMENT_UNIT.search(comment or "")
    if not m:
        return Target(column)
    text = m.group(1).split(",")[0].strip()
    if text == "MJD":
        return Target(column, time_format="mjd")
    if text == "Julian year":
        return Target(column, time_format="jyear")
    unit = u.Unit(text)
    return Target(column, unit=unit, per_beam=u.beam in unit.bases)


def parse_unit(text: str | None):
    """An astropy unit from a file's unit string (VOUnit, CDS, FITS or generic syntax); None if empty.

    Raises LoadError for a string astropy does not understand."""
    import astropy.units as u

    if text is None:
        return None
    text = str(text).strip()
    if text in ("", "-", "---", "—"):
        return None
    for fmt in ("vounit", "cds", "fits", "generic"):
        try:
            return u.Unit(text, format=fmt, parse_strict="raise")
        except (ValueError, TypeError):
            continue
    raise LoadError(f"unit {text!r} is not a unit astropy understands")


def is_time_format(text: str) -> bool:
    return text in TIME_FORMATS


def convert_quantity(values: np.ndarray, src, target: Target, what: str) -> np.ndarray:
    """values [src] -> target.unit with astropy (``Unit.to``); raises LoadError on a unit mismatch.

    A per-beam target (peak flux, rms) accepts a flux density without ``/beam`` (read per beam)."""
    import astropy.units as u

    dst = target.unit
    if src is None or dst is None:
        return values
    if not src.is_equivalent(dst) and target.per_beam and (src / u.beam).is_equivalent(dst):
        src = src / u.beam
    try:
        return src.to(dst, values)
    except u.UnitConversionError:
        raise LoadError(
            f"unit mismatch: {what} is in {src.to_string()!r}, which cannot be converted to "
            f"{dst.to_string()!r} for {target.column}"
        ) from None


def time_format_for(src_unit, name: str, sample: np.ndarray | None) -> str | None:
    """Guess the epoch format of a numeric column from its unit and name: yr/a -> Julian year;
    d with 'mjd' or 'jd' in the name -> MJD / JD. None when it cannot be told."""
    import astropy.units as u

    low = name.lower()
    if src_unit is not None and src_unit.is_equivalent(u.yr) and src_unit in (u.yr, u.year, u.a):
        return "jyear"
    if "mjd" in low:
        return "mjd"
    if low.startswith("jd") or low.endswith("jd") or "_jd" in low:
        return "jd"
    return None


def convert_epoch(values, src_format: str, target: Target, what: str) -> np.ndarray:
    """Epochs from ``src_format`` to the target's (MJD or Julian year) with astropy Time; NaN/None
    stay NaN. Dates (isot/iso strings) are UTC."""
    from astropy.time import Time

    vals = np.asarray(values)
    out = np.full(len(vals), np.nan)
    if vals.dtype.kind in "fiu":
        ok = np.isfinite(vals.astype(float))
    else:
        ok = np.array([v is not None and str(v).strip() != "" for v in vals], bool)
    if not ok.any():
        return out
    good = vals[ok]
    if src_format == target.time_format:
        out[ok] = good.astype(float)
        return out
    try:
        t = Time(
            good.astype(float) if src_format not in ("isot", "iso") else good.astype(str),
            format=src_format,
            scale="utc" if src_format in ("mjd", "jd", "isot", "iso") else "tt",
        )
        # MJD epochs of the radio table are UTC; Julian-year epochs are TT (the catalogues' TCB/TT convention)
        out[ok] = getattr(t.utc if target.time_format == "mjd" else t.tt, target.time_format)
    except (ValueError, TypeError) as exc:
        raise LoadError(f"{what}: cannot read the values as {src_format} epochs ({exc})") from None
    return out


def sexagesimal_deg(values, is_ra: bool, unit_text: str | None, what: str) -> np.ndarray:
    """Sexagesimal strings ('17 57 48.50', '+04 41 36.1') -> degrees with astropy Angle; RA in
    hours unless the file says degrees."""
    import astropy.units as u
    from astropy.coordinates import Angle

    vals = np.asarray(values, dtype=object)
    out = np.full(len(vals), np.nan)
    ok = np.array([v is not None and str(v).strip() != "" for v in vals], bool)
    if not ok.any():
        return out
    text = (unit_text or "").lower()
    unit = u.hourangle if (is_ra and not text.startswith("d") and "deg" not in text) else u.deg
    try:
        out[ok] = Angle([str(v) for v in vals[ok]], unit=unit).deg
    except (ValueError, TypeError) as exc:
        raise LoadError(f"{what}: cannot read the values as sexagesimal angles ({exc})") from None
    return out
