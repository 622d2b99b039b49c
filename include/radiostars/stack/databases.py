"""Database bootstrap (idempotent): the MariaDB datadir, root password, catalogue database and app user;
the PostgreSQL cluster, the `airflow` and `warehouse` databases and q3c. The one place that sets up
database users, passwords and grants."""

from __future__ import annotations

import getpass
import os
import shutil
from pathlib import Path

from psycopg import sql

from radiostars.config import KNOWN_DEFAULT_SECRETS, Settings
from radiostars.stack.process import StackError, run
from radiostars.stack.services import POSTGRES_BIN, postgres_dirs, run_dir


def init_mariadb_datadir(settings: Settings) -> None:
    datadir = settings.data_dir / "mariadb"
    if (datadir / "mysql").exists():
        return
    datadir.mkdir(parents=True, exist_ok=True)
    user = "root" if os.geteuid() == 0 else getpass.getuser()
    run(
        [
            "mariadb-install-db",
            "--no-defaults",
            f"--datadir={datadir}",
            f"--user={user}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ],
        "mariadb-install-db",
    )


def bootstrap_mariadb(settings: Settings) -> None:
    """Root password, the catalogue database and the app user (root over TCP for tests and seeding)."""

    s = settings
    conn = _mariadb_root(s)
    db, user, ingest = s["MYSQL_DATABASE"], s["MYSQL_USER"], s["MYSQL_INGEST_USER"]
    pw, root_pw = conn.escape(s.secret("MYSQL_PASSWORD")), conn.escape(s.secret("MYSQL_ROOT_PASSWORD"))
    ingest_pw = conn.escape(s.secret("MYSQL_INGEST_PASSWORD"))
    statements = [
        f"CREATE DATABASE IF NOT EXISTS `{db}` CHARACTER SET utf8mb4",
        # the writer: the seeder and `radiostars load`
        f"CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY {pw}",
        f"ALTER USER '{user}'@'%' IDENTIFIED BY {pw}",
        f"GRANT ALL PRIVILEGES ON `{db}`.* TO '{user}'@'%'",
        f"GRANT ALL PRIVILEGES ON `{db}\\_%`.* TO '{user}'@'%'",  # catalogues_test etc. for tests
        # the ingestion reads, nothing else (the tests' scratch catalogues too)
        f"CREATE USER IF NOT EXISTS '{ingest}'@'%' IDENTIFIED BY {ingest_pw}",
        f"ALTER USER '{ingest}'@'%' IDENTIFIED BY {ingest_pw}",
        f"GRANT SELECT ON `{db}`.* TO '{ingest}'@'%'",
        f"GRANT SELECT ON `{db}\\_%`.* TO '{ingest}'@'%'",
        f"CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY {root_pw}",
        f"ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY {root_pw}",
        "GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION",
        f"ALTER USER 'root'@'localhost' IDENTIFIED BY {root_pw}",
        "FLUSH PRIVILEGES",
    ]
    with conn.cursor() as cur:
        for sql in statements:
            cur.execute(sql)
    conn.commit()
    conn.close()


def _mariadb_root(settings: Settings):
    """root over the socket: a fresh datadir has no root password; a datadir made before `make setup`
    generated the passwords still has a former default (migration: the caller sets the new one)."""
    import pymysql

    sock = str(run_dir(settings) / "mariadb.sock")
    for password in ("", settings.secret("MYSQL_ROOT_PASSWORD"), *sorted(KNOWN_DEFAULT_SECRETS)):
        try:
            return pymysql.connect(unix_socket=sock, user="root", password=password)
        except pymysql.err.OperationalError:
            continue
    raise StackError(
        "cannot log in to MariaDB as root over its socket with MYSQL_ROOT_PASSWORD: put the "
        "datadir's root password in .env, or start afresh with `radiostars stack clean`"
    )


def prepare_postgres_dirs(settings: Settings) -> None:
    """The cluster's data and socket directories: 0700, owned by the user postgres runs as (as root: the
    `postgres` service user, who cannot read .env nor, maybe, the checkout: :func:`postgres_dirs`)."""
    dirs = postgres_dirs(settings)
    for folder in (dirs.base, dirs.data, dirs.socket):
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if folder != settings.state_dir:
            folder.chmod(0o700)
            if os.geteuid() == 0:  # initdb and postgres refuse root: the cluster belongs to postgres
                shutil.chown(folder, "postgres", "postgres")


def init_postgres_cluster(settings: Settings) -> None:
    dirs = postgres_dirs(settings)
    datadir = dirs.data
    if (datadir / "PG_VERSION").exists():
        return
    prepare_postgres_dirs(settings)
    pwfile = dirs.socket / "initdb.pw"  # inside a 0700 folder of the service user, removed right after
    fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(settings.secret("POSTGRES_PASSWORD") + "\n")
    user = None
    if os.geteuid() == 0:
        user = "postgres"
        shutil.chown(pwfile, "postgres", "postgres")
    try:
        run(
            [
                str(POSTGRES_BIN / "initdb"),
                "-D",
                str(datadir),
                "-U",
                settings["POSTGRES_USER"],
                f"--pwfile={pwfile}",
                "--auth-local=scram-sha-256",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
            ],
            "initdb",
            user=user,
        )
    finally:
        pwfile.unlink(missing_ok=True)


def bootstrap_postgres(settings: Settings) -> None:
    """As the superuser (idempotent): one login per job — Airflow's metadata login owning `airflow`, the
    warehouse owner (no superuser) owning `warehouse`, the read-only analyst — q3c in the warehouse, and
    CONNECT/TEMP on each database for its owner only (the analyst: CONNECT on the warehouse)."""
    import psycopg

    from radiostars.warehouse.roles import create_analyst_role

    s = settings
    owners = {
        s["POSTGRES_AIRFLOW_DB"]: (s["POSTGRES_AIRFLOW_USER"], s.secret("POSTGRES_AIRFLOW_PASSWORD")),
        s["POSTGRES_WAREHOUSE_DB"]: (s["WAREHOUSE_USER"], s.secret("WAREHOUSE_PASSWORD")),
    }
    with postgres_superuser(s) as conn:
        require_password_on_local_socket(conn)
        for login, password in owners.values():
            ensure_login(conn, login, password)
        create_analyst_role(conn, s)
        existing = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
        for db, (owner, _) in owners.items():
            if db not in existing:
                conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(db), sql.Identifier(owner)))
            conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(db), sql.Identifier(owner)))
        for db in (*owners, "postgres"):
            conn.execute(sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(sql.Identifier(db)))
        conn.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(s["POSTGRES_WAREHOUSE_DB"]), sql.Identifier(s["ANALYST_USER"])
            )
        )
    for db, (owner, _) in owners.items():
        with psycopg.connect(s.postgres_dsn(db, superuser=True), autocommit=True) as conn:
            if db == s["POSTGRES_WAREHOUSE_DB"]:
                conn.execute("CREATE EXTENSION IF NOT EXISTS q3c")
            conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
            hand_over_objects(conn, owner)


def ensure_login(conn, role: str, password: str) -> None:
    """A login role with no special attribute (not superuser, no CREATEDB/CREATEROLE), password set."""
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    conn.execute(
        sql.SQL(
            "{} ROLE {} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD {}"
        ).format(sql.SQL("ALTER" if exists else "CREATE"), sql.Identifier(role), sql.Literal(password))
    )


def hand_over_objects(conn, owner: str) -> None:
    """Migration: schemas, tables, views, sequences and functions the superuser created in this database
    (before each job had its own login) now belong to `owner` (extension members stay the superuser's)."""
    me = "(SELECT oid FROM pg_roles WHERE rolname = current_user)"
    user_ns = "n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'"
    not_ext = "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = {oid} AND d.deptype = 'e')"
    target = sql.Identifier(owner)
    for (name,) in conn.execute(
        f"SELECT n.nspname FROM pg_namespace n WHERE n.nspowner = {me} AND {user_ns} AND {not_ext.format(oid='n.oid')}"
    ).fetchall():
        conn.execute(sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(sql.Identifier(name), target))
    rels = conn.execute(
        f"SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE c.relowner = {me} AND {user_ns} AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
        f"AND {not_ext.format(oid='c.oid')} AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d "
        f"WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')))"
    ).fetchall()
    for schema, name, kind in rels:
        verb = {"v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE", "f": "FOREIGN TABLE"}.get(kind, "TABLE")
        conn.execute(
            sql.SQL("ALTER {} {}.{} OWNER TO {}").format(
                sql.SQL(verb), sql.Identifier(schema), sql.Identifier(name), target
            )
        )
    for (signature,) in conn.execute(
        f"SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        f"WHERE p.proowner = {me} AND {user_ns} AND {not_ext.format(oid='p.oid')}"
    ).fetchall():
        conn.execute(sql.SQL("ALTER ROUTINE {} OWNER TO {}").format(sql.SQL(signature), target))


def require_password_on_local_socket(conn) -> None:
    """Migration of clusters made with `trust` on the local socket: scram-sha-256 everywhere."""
    if not conn.execute("SELECT 1 FROM pg_hba_file_rules WHERE auth_method = 'trust'").fetchone():
        return
    hba = Path(conn.execute("SHOW hba_file").fetchone()[0])
    if not hba.exists():  # a server elsewhere (compose): its image configures its own authentication
        return
    lines = hba.read_text().splitlines()
    fixed = [
        line.replace(" trust", " scram-sha-256") if line.strip() and not line.lstrip().startswith("#") else line
        for line in lines
    ]
    hba.write_text("\n".join(fixed) + "\n")
    conn.execute("SELECT pg_reload_conf()")


def postgres_superuser(settings: Settings):
    """The cluster superuser's connection to the `postgres` database (setup only).

    Migration: a cluster made before `make setup` generated the passwords has a former default password
    (and `trust` on its local socket): log in with that once, set POSTGRES_PASSWORD on the role."""
    import psycopg
    from psycopg import sql

    s = settings
    try:
        return psycopg.connect(s.postgres_dsn("postgres", superuser=True), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if "password authentication failed" not in str(exc):
            raise
    attempts = [{"host": str(postgres_dirs(s).socket)}] + [
        {"host": s["POSTGRES_HOST"], "password": pw} for pw in sorted(KNOWN_DEFAULT_SECRETS)
    ]
    for attempt in attempts:
        try:
            conn = psycopg.connect(
                port=s.postgres_port,
                dbname="postgres",
                user=s["POSTGRES_USER"],
                autocommit=True,
                connect_timeout=5,
                **attempt,
            )
        except psycopg.OperationalError:
            continue
        conn.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(s["POSTGRES_USER"]), sql.Literal(s.secret("POSTGRES_PASSWORD"))
            )
        )
        return conn
    raise StackError(
        "cannot log in to PostgreSQL as POSTGRES_USER with POSTGRES_PASSWORD: put the cluster's "
        "password in .env, or start afresh with `radiostars stack clean`"
    )
