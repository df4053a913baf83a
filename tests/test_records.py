"""The record API (store/records.py): it sets every server-set column on create and update, on SQLite and
PostgreSQL, and the four writers (Web API, simulation, scenario loader, seeder) store the values its rules give."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from emulator import metadata
from emulator.app import create_app
from emulator.errors import BadRequest, PreconditionFailed
from emulator.simulation import Simulator
from emulator.store import records, scenario, write
from emulator.store.records import Context, rules
from emulator.store.seed import ADMIN_USER_ID, DOC_AGENT_ID, Seeder

from .conftest import NOW, Client

CONVERSATION, SESSION, ACCOUNT = (metadata.table(n) for n in ("msdyn_ocliveworkitem", "msdyn_ocsession", "account"))
LATER = NOW + timedelta(hours=1)
TEAM = "9a6c5a26-5f0e-4d0e-8f57-2a1f0c5d6e01"


def create(emulator, table, values: dict, caller: str = DOC_AGENT_ID, at: datetime = NOW) -> dict:
    with emulator.db.transaction() as conn:
        key = records.create(conn, emulator.db, table, dict(values), Context(at, caller))
        return dict(write.fetch(conn, emulator.db, table, key)._mapping)


def update(emulator, table, row: dict, values: dict, caller: str = ADMIN_USER_ID, at: datetime = LATER) -> dict:
    key = row[table.primary_id]
    with emulator.db.transaction() as conn:
        existing = write.fetch(conn, emulator.db, table, key, lock=True)
        records.update(conn, emulator.db, table, key, dict(values), Context(at, caller), existing._mapping)
        return dict(write.fetch(conn, emulator.db, table, key)._mapping)


def all_rows(db, name: str) -> list[dict]:
    with db.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(db.tables[name]))]


def rebuilt(table, row: dict) -> dict:
    """`row` with its server-set columns dropped, then completed by the rules as its creator (createdby) creating it
    at createdon and last writing it at modifiedon, with its own row version."""
    rule = rules(table)
    dropped = set(rule.stamped) | {"activitytypecode", rule.mirror}
    given = {k: v for k, v in row.items() if k not in dropped}
    if row.get("ownerid") not in (None, row["createdby"]):
        given["ownerid"] = row["ownerid"]  # a named owner, not the default one
    return rule.new_row(given, row[table.primary_id], when=row["modifiedon"], created=row["createdon"],
                        caller=row["createdby"], version=lambda: row["versionnumber"])


def assert_rules_hold(db) -> int:
    """Every row of every table holds what the record API's rules give for its inputs; returns how many rows."""
    checked = 0
    for table in metadata.SHIPPED.tables:
        name = table.logical_name
        if name in db.tables.views:
            continue  # activitypointer: a view of the activity tables' rows, checked there
        for row in all_rows(db, name):
            assert rebuilt(table, dict(row)) == row, f"{name} {row[table.primary_id]}"
            checked += 1
    return checked


# -- each server-set column --------------------------------------------------------------------------------------
def test_create_sets_every_server_set_column(fresh):
    row = create(fresh, CONVERSATION, {"subject": "Refund"})
    key = row["activityid"]
    assert (row["createdon"], row["modifiedon"]) == ("2026-01-15T12:00:00Z", "2026-01-15T12:00:00Z")
    assert row["createdby"] == row["modifiedby"] == DOC_AGENT_ID
    assert (row["ownerid"], row["ownerid__target"]) == (DOC_AGENT_ID, "systemuser")
    assert row["versionnumber"] > 1000 and row["overriddencreatedon"] is None
    assert (row["statecode"], row["statuscode"]) == (0, 1)
    assert row["activitytypecode"] == "msdyn_ocliveworkitem" and row["msdyn_ocliveworkitemid"] == key
    assert (row["prioritycode"], row["msdyn_isagentsession"], row["msdyn_isoutbound"]) == (1, True, False)
    assert create(fresh, CONVERSATION, {"subject": "Next"})["versionnumber"] > row["versionnumber"]


def test_given_values_win_where_the_server_only_defaults(fresh):
    row = create(fresh, CONVERSATION, {"subject": "s", "statecode": 1, "msdyn_ocliveworkitemid": "mine",
                                       "prioritycode": 2, "ownerid": TEAM, "ownerid__target": "team",
                                       "overriddencreatedon": "2020-01-01T00:00:00Z", "activitytypecode": "email"})
    assert (row["statecode"], row["statuscode"]) == (1, 4)  # Closed's default status
    assert (row["msdyn_ocliveworkitemid"], row["prioritycode"]) == ("mine", 2)
    assert (row["ownerid"], row["ownerid__target"]) == (TEAM, "team")
    assert (row["createdon"], row["overriddencreatedon"]) == ("2020-01-01T00:00:00Z", "2026-01-15T12:00:00Z")
    assert row["activitytypecode"] == "msdyn_ocliveworkitem"
    assert create(fresh, SESSION, {"subject": "s", "ownerid": DOC_AGENT_ID})["ownerid__target"] == "systemuser"


def test_update_sets_the_modified_columns_and_keeps_the_created_ones(fresh):
    row = create(fresh, ACCOUNT, {"name": "Contoso"})
    changed = update(fresh, ACCOUNT, row, {"statecode": 1, "ownerid": DOC_AGENT_ID})
    assert (changed["statecode"], changed["statuscode"]) == (1, 2)
    assert (changed["modifiedon"], changed["modifiedby"]) == ("2026-01-15T13:00:00Z", ADMIN_USER_ID)
    assert (changed["createdon"], changed["createdby"]) == (row["createdon"], row["createdby"])
    assert (changed["ownerid"], changed["ownerid__target"]) == (DOC_AGENT_ID, "systemuser")
    assert changed["versionnumber"] > row["versionnumber"]


@pytest.mark.parametrize("values, code, words", [
    ({"statuscode": 2}, "0x80048408", "2 is not a valid status code for state code accountState.Active"),
    ({"statecode": None}, "0x80040203", "statecode cannot be set to NULL"),
    ({"ownerid": None}, "0x80040203", "ownerid cannot be set to NULL"),
])
def test_updates_keep_the_state_model_and_the_owner(fresh, values, code, words):
    row = create(fresh, ACCOUNT, {"name": "Contoso"})
    with pytest.raises(BadRequest) as error:
        update(fresh, ACCOUNT, row, values)
    assert error.value.code == code and words in str(error.value)
    assert all_rows(fresh.db, "account") == [row]


def test_a_duplicate_key_is_refused(fresh):
    row = create(fresh, ACCOUNT, {"name": "Contoso"})
    with pytest.raises(PreconditionFailed):
        create(fresh, ACCOUNT, {"accountid": row["accountid"], "name": "Again"})


# -- the four writers ----------------------------------------------------------------------------------------------
def test_seeded_simulated_and_web_api_rows_follow_the_rules(emulator):
    """The seeder's bulk path, the simulation and the Web API store what the rules give for each row's inputs."""
    simulator = Simulator(emulator.db, emulator.clock, rate=60, seed=4)
    simulator.step()
    for _ in range(20):
        emulator.clock.advance(timedelta(seconds=10))
        simulator.step()
    assert any(t.from_status is None for t in simulator.transitions)
    api = Client(create_app(emulator))
    assert api.request("POST", "accounts", json={"name": "Contoso", "statecode": 1}).status_code == 204
    assert api.request("POST", "msdyn_ocliveworkitems", json={"subject": "s"}).status_code == 204
    assert assert_rules_hold(emulator.db) > 100


def test_scenario_rows_follow_the_rules(fresh):
    scenario.load(fresh.db, scenario.read("minimal"), now=NOW)
    assert assert_rules_hold(fresh.db) > 10


def test_the_four_writers_agree_on_equal_inputs(fresh):
    """A conversation and an account created at the same instant by the administrator, through each writer: the
    same server-set values (row versions aside: each writer draws them from its own sequence)."""
    made: dict[str, list[dict]] = {"account": [], "msdyn_ocliveworkitem": []}
    simulator = Simulator(fresh.db, fresh.clock, rate=600, seed=1)
    fresh.clock.set(NOW - timedelta(seconds=30))
    simulator.step()
    fresh.clock.set(NOW)
    assert simulator.step()
    made["msdyn_ocliveworkitem"].append(all_rows(fresh.db, "msdyn_ocliveworkitem")[0])
    api = Client(create_app(fresh))
    for entity_set, body, key in (("accounts", {"name": "A"}, "accountid"),
                                  ("msdyn_ocliveworkitems", {"subject": "s"}, "activityid")):
        response = api.request("POST", entity_set, json=body, headers={"Prefer": "return=representation"})
        assert response.status_code == 201
        name = entity_set.rstrip("s")
        made[name] += [r for r in all_rows(fresh.db, name) if r[key] == response.get_json()[key]]
    made["account"].append(create(fresh, ACCOUNT, {"name": "A"}, caller=ADMIN_USER_ID))
    made["msdyn_ocliveworkitem"].append(create(fresh, CONVERSATION, {"subject": "s"}, caller=ADMIN_USER_ID))
    loaded = scenario.Loader(fresh.db, scenario.from_dict({"customers": [{"type": "account", "name": "A",
                                                                          "created": "now"}],
                                                           "conversations": [{"created": "now"}]}), NOW).load()
    made["account"].append(loaded["account"][0])
    made["msdyn_ocliveworkitem"].append(loaded["msdyn_ocliveworkitem"][0])
    seeder = Seeder(fresh.db, seed=1, now=NOW)
    made["account"].append(dict(zip((*rules(ACCOUNT).stamped, "statecode", "statuscode"),
                                    seeder.owned("account", int(NOW.timestamp())), strict=True)))
    columns = ("createdon", "modifiedon", "createdby", "modifiedby", "ownerid", "ownerid__target", "statecode",
               "statuscode")
    for name, rows in made.items():
        assert len(rows) == 4, name
        assert {tuple(r[c] for c in columns) for r in rows} == {
            ("2026-01-15T12:00:00Z", "2026-01-15T12:00:00Z", ADMIN_USER_ID, ADMIN_USER_ID, ADMIN_USER_ID,
             "systemuser", 0, 1)}, name
    for row in made["msdyn_ocliveworkitem"]:
        assert (row["activitytypecode"], row["msdyn_ocliveworkitemid"]) == ("msdyn_ocliveworkitem", row["activityid"])
