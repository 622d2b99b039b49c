"""Sample data for radiostars: real Hipparcos 2 / Gaia DR3 bright stars, synthetic faint Gaia-like
stars, a synthetic SMGPS-like radio catalogue with radio stars injected, SIMBAD-like known objects,
and the scale generator. See docs/data.md for every table, column, unit and id range.

Public entry points: :func:`radiostars.sample.seed.seed`, :func:`radiostars.sample.update.apply_update`,
:func:`radiostars.sample.scale.generate_scale` (its manifests: :func:`radiostars.lake.raw.write_manifest`),
and the CLI :func:`radiostars.sample.cli.main`.
"""
