"""The cross-match on Spark (plumbing around the numpy library in ``radiostars.crossmatch``).

Kept light: the DAG reads ``OPTICAL_LAYOUTS`` at parse time."""

# where a run's optical rows come from: the stored HEALPix layout, or an explode + shuffle in the run
OPTICAL_LAYOUTS = ("curated", "shuffle")
