"""Load published catalogue files (Gaia archive, VizieR, SIMBAD exports) into the MySQL catalogues:
``radiostars load --table T FILE``. See docs/data.md ("Your own data")."""
