"""Migrations run forwards on an empty database, on both engines, through the real CLI."""

import sqlite3
import subprocess
import sys

import pytest

from walkapp.tables import ALL_TABLES

EXPECTED = {t._meta.tablename for t in ALL_TABLES}


def _migrate(env, url, cwd):
    result = subprocess.run([sys.executable, "-m", "walkapp", "migrate"], cwd=cwd, capture_output=True, text=True,
                            env={**env, "WALKAPP_DATABASE_URL": url}, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_migrations_on_an_empty_sqlite_file(test_env, tmp_path):
    path = tmp_path / "empty.sqlite"
    out = _migrate(test_env, f"sqlite:///{path}", tmp_path)
    assert "migrate:" in out
    names = {row[0] for row in sqlite3.connect(path).execute("select name from sqlite_master where type='table'")}
    assert EXPECTED <= names
    indexes = {row[0] for row in sqlite3.connect(path).execute("select name from sqlite_master where type='index'")}
    assert "observation_walk_client_uuid" in indexes
    # A second run finds nothing to do and changes nothing.
    assert "No migrations need to be run" in _migrate(test_env, f"sqlite:///{path}", tmp_path)


def test_migrations_on_an_empty_postgres_database(test_env, tmp_path, pg_server):
    url = pg_server.create_database("walkapp_migrations")
    _migrate(test_env, url, tmp_path)
    psql = subprocess.run(["psql", url, "-Atc", "select tablename from pg_tables where schemaname='public'"],
                          capture_output=True, text=True, check=True)
    assert EXPECTED <= set(psql.stdout.split())
    psql = subprocess.run(["psql", url, "-Atc", "select indexname from pg_indexes where tablename='observation'"],
                          capture_output=True, text=True, check=True)
    assert "observation_walk_client_uuid" in psql.stdout.split()


async def test_the_test_database_has_every_table(backend):
    from walkapp.db import engine

    db = engine()
    for table in ALL_TABLES:
        assert await table.count() == 0, table
    assert db.engine_type == ("postgres" if backend == "postgres" else "sqlite")


@pytest.mark.parametrize("table", ALL_TABLES, ids=lambda t: t._meta.tablename)
def test_nullable_numbers_default_to_none(table):
    """A nullable float or time that defaults to 0.0/now() would put a photo at 0°N 0°E."""
    for column in table._meta.columns:
        if column._meta.null and type(column).__name__ in ("DoublePrecision", "Timestamptz", "Numeric", "Date"):
            assert column.default is None, f"{table.__name__}.{column._meta.name}"
