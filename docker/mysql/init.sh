#!/bin/bash
# The SELECT-only ingestion user (the image's entrypoint made MYSQL_USER, the writer, and the database).
set -euo pipefail
mysql -uroot -p"$MYSQL_ROOT_PASSWORD" <<SQL
CREATE USER IF NOT EXISTS '${MYSQL_INGEST_USER}'@'%' IDENTIFIED BY '${MYSQL_INGEST_PASSWORD}';
GRANT SELECT ON \`${MYSQL_DATABASE}\`.* TO '${MYSQL_INGEST_USER}'@'%';
SQL
