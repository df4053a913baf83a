"""The store's Database: its single writer, its per-query time limit and the tables it saw written (what a reset
copies back), on real SQLite files and on PostgreSQL."""
from __future__ import annotations

import sqlite3
import threading

import pytest
import sqlalchemy as sa

from emulator.errors import QueryTimeout
from emulator.store.database import bulk_load

from .conftest import make_emulator

CONV = "msdyn_ocliveworkitems"


def rows(db, name: str) -> list:
    table = db.tables[name]
    with db.engine.connect() as conn:
        return conn.execute(sa.select(table).order_by(*table.primary_key.columns)).all()


def reset(api) -> list[str] | str:
    response = api.request("POST", "/_emulator/reset")
    assert response.status_code == 200
    return response.get_json()["tables"]


def web_api(api, db) -> None:
    assert api.request("POST", CONV, json={"subject": "new"}).status_code == 204


def transaction(api, db) -> None:
    with db.transaction() as conn:
        conn.execute(sa.delete(db.tables["msdyn_ocliveworkitem"]))


def change_set(api, db) -> None:
    with db.change_set() as changes, db.transaction() as conn:
        assert conn is changes.conn  # a write inside a change set joins its transaction
        conn.execute(sa.update(db.tables["msdyn_ocliveworkitem"]).values(subject="changed"))


def read_engine(api, db) -> None:
    with db.engine.begin() as conn:
        conn.execute(sa.update(db.tables["msdyn_ocliveworkitem"]).values(subject="changed"))


def bulk(api, db) -> None:
    with bulk_load(db, ["msdyn_ocliveworkitem"]) as conn:  # rows written past SQLAlchemy's statements, as the
        conn.exec_driver_sql("DELETE FROM msdyn_ocliveworkitem")  # seeder's DB-API cursor writes them


@pytest.mark.parametrize("write", [web_api, transaction, change_set, read_engine, bulk])
def test_a_reset_copies_back_exactly_the_tables_written(api, emulator, write):
    db = emulator.db
    before = {name: rows(db, name) for name in db.tables}
    assert reset(api) == []
    write(api, db)
    assert rows(db, "msdyn_ocliveworkitem") != before["msdyn_ocliveworkitem"]
    assert reset(api) == ["msdyn_ocliveworkitem"]
    assert {name: rows(db, name) for name in db.tables} == before
    assert reset(api) == []


def test_written_since_is_none_until_the_data_equals_that_snapshot(fresh):
    db = fresh.db
    db.sync_row_versions()  # the writer exists before the mark, so only the statements below count
    assert db.written_since("one") is None
    db.forget_writes("one")
    assert db.written_since("one") == set()
    with db.transaction() as conn:
        conn.execute(sa.delete(db.tables["contact"]))
    with db.engine.begin() as conn:
        conn.execute(sa.delete(db.tables["account"]))
    assert db.written_since("one") == {"account", "contact"}
    assert db.written_since("two") is None
    db.forget_writes("two")
    assert db.written_since("one") is None and db.written_since("two") == set()


def test_the_time_limit_stops_only_the_statements_of_the_thread_that_set_it(tmp_path):
    db = make_emulator(tmp_path / "t.db", conversations=500).db
    session = db.tables["msdyn_ocsession"]
    pairs = sa.select(sa.func.count()).select_from(session.alias("a").join(session.alias("b"), sa.true()))
    expected = db.count("msdyn_ocsession") ** 2
    db.limit_queries(1)
    try:
        elsewhere: list[int] = []
        thread = threading.Thread(target=lambda: elsewhere.append(_scalar(db, pairs)))
        thread.start()
        thread.join()
        assert elsewhere == [expected]  # another thread (outside any request) has no limit
        with pytest.raises(QueryTimeout, match="limit of 1 ms and was stopped"):
            _scalar(db, pairs)
    finally:
        db.limit_queries(None)
    assert _scalar(db, pairs) == expected
    db.dispose()


def _scalar(db, statement) -> int:
    with db.engine.connect() as conn:
        return conn.execute(statement).scalar_one()


def test_a_write_transaction_on_a_sqlite_file_holds_the_write_lock_from_its_start(tmp_path):
    db = make_emulator(tmp_path / "w.db", conversations=0).db
    other = sqlite3.connect(tmp_path / "w.db", timeout=0)
    try:
        with db.transaction():  # nothing written yet: BEGIN IMMEDIATE took the lock anyway
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")
        other.rollback()
    finally:
        other.close()
        db.dispose()
