"""Seeding: the same seed gives the same rows; every coherence rule holds on every seeded row."""
import re
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from emulator import metadata
from emulator.clock import format_instant
from emulator.metadata.optionsets import LIVEWORKITEM_STATUS, STREAM_SOURCE
from emulator.store.database import Database
from emulator.store.records import ROOT_BUSINESS_UNIT_ID
from emulator.store.seed import ADMIN_USER_ID, DOC_AGENT_ID, Instants, Seeder, seed

from .conftest import BACKENDS, NOW, drop_database, make_emulator


def dump(db: Database) -> dict[str, list[tuple]]:
    with db.engine.connect() as conn:
        return {name: sorted(tuple(r) for r in conn.execute(table.select())) for name, table in db.tables.items()}


def test_same_seed_same_rows_and_other_seed_other_rows(tmp_path):
    dbs = [Database(f"sqlite:///{tmp_path / f'{i}.db'}") for i in range(3)]
    for db, value in zip(dbs, (7, 7, 8), strict=False):
        seed(db, conversations=300, agents=6, seed=value, now=NOW)
    first, second, other = (dump(db) for db in dbs)
    assert first == second
    assert first["msdyn_ocliveworkitem"] != other["msdyn_ocliveworkitem"]


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="needs PostgreSQL (EMULATOR_TEST_DATABASE_URL)")
def test_postgresql_holds_the_same_rows_as_sqlite(tmp_path):
    """PostgreSQL loads with COPY, SQLite with executemany: the same seed reads back as the same values."""
    lite = make_emulator(tmp_path / "lite.db", conversations=300, agents=6, seed_value=7)
    postgres = make_emulator(tmp_path / "pg.db", conversations=300, agents=6, seed_value=7, backend="postgresql")
    try:
        assert dump(postgres.db) == dump(lite.db)
    finally:
        drop_database(postgres)
        lite.db.dispose()


def test_seed_refuses_to_mix_and_reset_replaces(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    seed(db, conversations=20, agents=3, now=NOW)
    with pytest.raises(ValueError, match="--reset"):
        seed(db, conversations=20, agents=3, now=NOW)
    seed(db, conversations=30, agents=3, now=NOW, reset=True)
    assert db.count("msdyn_ocliveworkitem") == 30


def test_a_failed_seed_rolls_back_whole_and_can_be_retried(emulator, monkeypatch):
    """Everything, the dropped secondary indexes too, is one transaction (pysqlite on its own would have run the
    DROP INDEXes before its implicit BEGIN); on SQLite the file is back in WAL mode."""
    db = emulator.db
    insert = Seeder._insert

    def fail_after_the_first_conversations(self, conn, logical_name, rows):
        insert(self, conn, logical_name, rows)
        if logical_name == "msdyn_ocliveworkitem":
            raise RuntimeError("disk full")

    monkeypatch.setattr(Seeder, "_insert", fail_after_the_first_conversations)
    with pytest.raises(RuntimeError, match="disk full"):
        seed(db, conversations=30, agents=3, now=NOW, reset=True)
    assert set(db.counts().values()) == {0}
    for name in ("msdyn_ocliveworkitem", "msdyn_ocsession"):
        present = {index["name"] for index in sa.inspect(db.engine).get_indexes(name)}
        assert present >= {index.name for index in db.tables[name].indexes}
    if db.is_sqlite:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    monkeypatch.setattr(Seeder, "_insert", insert)
    assert seed(db, conversations=30, agents=3, now=NOW).conversations == db.count("msdyn_ocliveworkitem") == 30


def test_seed_beside_another_connection_loads_in_wal_mode(tmp_path):
    """The rollback journal needs the file to itself; with another connection open (a server's) the seed goes on
    in WAL mode, without waiting."""
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    db.create_schema()
    other = sqlite3.connect(tmp_path / "x.db")
    try:
        other.execute("SELECT count(*) FROM systemuser").fetchall()
        assert seed(db, conversations=30, agents=3, now=NOW).conversations == 30
        assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert other.execute("SELECT count(*) FROM msdyn_ocliveworkitem").fetchone() == (30,)
    finally:
        other.close()


@pytest.fixture(scope="module")
def data(seeded):
    with seeded.db.engine.connect() as conn:
        return {name: [dict(r._mapping) for r in conn.execute(t.select())] for name, t in seeded.db.tables.items()}


def test_statecode_always_matches_statuscode(data):
    states = {o.value: o.state for o in LIVEWORKITEM_STATUS.options}
    for row in data["msdyn_ocliveworkitem"]:
        assert row["statecode"] == states[row["statuscode"]], row["activityid"]
    for row in data["msdyn_ocsession"]:
        assert (row["statecode"], row["statuscode"]) in ((0, 1), (1, 2), (2, 3))


def test_agents_where_the_status_needs_one(data):
    convs = data["msdyn_ocliveworkitem"]
    for row in convs:
        if row["statuscode"] in (2, 3, 5):
            assert row["msdyn_activeagentid"] is not None
    open_rows = [r for r in convs if r["statuscode"] == 1]
    assert any(r["msdyn_activeagentid"] is None for r in open_rows)
    agent_ids = {u["systemuserid"] for u in data["systemuser"]}
    assert all(r["msdyn_activeagentid"] in agent_ids for r in convs if r["msdyn_activeagentid"])


def test_timeline_is_coherent(data):
    now = format_instant(NOW)
    oldest = format_instant(NOW - timedelta(days=90))
    for row in data["msdyn_ocliveworkitem"]:
        assert oldest <= row["createdon"] <= now
        assert row["createdon"] <= row["modifiedon"] <= now
        if row["statecode"] == 1:
            assert row["msdyn_closedon"] is not None and row["msdyn_closedon"] > row["createdon"]
        else:
            assert row["msdyn_closedon"] is None
        if row["msdyn_activeagentassignedon"]:
            assert row["createdon"] <= row["msdyn_activeagentassignedon"] <= now
    created = sorted(r["createdon"] for r in data["msdyn_ocliveworkitem"])
    assert created[0] < format_instant(NOW - timedelta(days=60))  # spread over the 90 days


def test_channels_and_work_streams(data):
    options = STREAM_SOURCE.values
    streams = {w["msdyn_liveworkstreamid"]: w for w in data["msdyn_liveworkstream"]}
    assert all(w["msdyn_streamsource"] in options for w in streams.values())
    for row in data["msdyn_ocliveworkitem"]:
        assert int(row["msdyn_channel"]) in options
        assert int(row["msdyn_channel"]) == streams[row["msdyn_liveworkstreamid"]]["msdyn_streamsource"]


def test_last_session_points_back(data):
    sessions = {s["activityid"]: s for s in data["msdyn_ocsession"]}
    for row in data["msdyn_ocliveworkitem"]:
        session = sessions[row["msdyn_lastsessionid"]]
        assert session["msdyn_liveworkitemid"] == row["activityid"]
        assert session["msdyn_activeagentid"] == row["msdyn_activeagentid"]
    assert {s["msdyn_liveworkitemid"] for s in sessions.values()} == {r["activityid"] for r in data["msdyn_ocliveworkitem"]}


def test_every_lookup_resolves(data):
    keys = {name: {r[metadata.table(name).primary_id] for r in rows} for name, rows in data.items()}
    for name, rows in data.items():
        for attr in metadata.table(name).lookups:
            for row in rows:
                value = row[attr.logical_name]
                if value is None:
                    continue
                target = row[attr.target_column] if attr.is_polymorphic else attr.targets[0]
                assert value in keys[target], (name, attr.logical_name, value)


def test_doc_agent_has_waiting_and_other_statuses(data):
    mine = [r["statuscode"] for r in data["msdyn_ocliveworkitem"] if r["msdyn_activeagentid"] == DOC_AGENT_ID]
    assert mine.count(3) >= 3
    assert {2, 3, 4, 5} <= set(mine)


def test_keys_are_lowercase_version_4_guids(data):
    v4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
    for name, rows in data.items():
        key = metadata.table(name).primary_id
        fixed = (ADMIN_USER_ID, DOC_AGENT_ID, ROOT_BUSINESS_UNIT_ID)  # fixed, documented ids (WhoAmI's business unit)
        generated = [r[key] for r in rows if r[key] not in fixed]
        assert all(v4.fullmatch(value) for value in generated), name


def test_instants_format_as_the_schema_does():
    instants = Instants(int(NOW.timestamp()), 400)
    for seconds in range(int((NOW - timedelta(days=400)).timestamp()), int(NOW.timestamp()) + 1, 7919):
        assert instants(seconds) == format_instant(datetime.fromtimestamp(seconds, UTC))


def test_msdyn_ocliveworkitemid_equals_key(data):
    assert all(r["msdyn_ocliveworkitemid"] == r["activityid"] for r in data["msdyn_ocliveworkitem"])


def test_versions_are_unique(data):
    versions = [r["versionnumber"] for rows in data.values() for r in rows]
    assert len(versions) == len(set(versions))


def test_indexes_serve_the_agent_query(seeded):
    if not seeded.db.is_sqlite:
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    with seeded.db.engine.connect() as conn:
        plan = conn.execute(sa.text(
            "EXPLAIN QUERY PLAN SELECT activityid FROM msdyn_ocliveworkitem WHERE msdyn_activeagentid = :a "
            "AND statuscode = 3 ORDER BY createdon DESC"), {"a": DOC_AGENT_ID}).fetchall()
    detail = " ".join(str(r[-1]) for r in plan)
    assert "ix_msdyn_ocliveworkitem_agent_status_created" in detail
    assert "TEMP B-TREE" not in detail
