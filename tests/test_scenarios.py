"""Scenario files: the shipped scenarios, the format's rules, errors that name the field and line, the CLI
(seed --scenario, export, import) and an export/import round trip."""
import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from emulator.app import create_app
from emulator.cli import main
from emulator.store import scenario as scenarios
from emulator.store.database import Database
from emulator.store.seed import ADMIN_USER_ID, DOC_AGENT_ID

from .conftest import NOW, Client, make_emulator


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'e.db'}")
    database.create_schema()
    yield database
    database.dispose()


def rows(db, table, *where):
    sql = db.tables[table]
    with db.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(sql).where(*where).order_by(*sql.primary_key)).mappings()]


def load_text(db, text, source="test.json"):
    return scenarios.load(db, scenarios.parse(text, source), now=NOW)


def test_shipped_scenarios_are_listed():
    assert {"default", "minimal", "large"} <= set(scenarios.available())


def test_minimal_has_the_documented_agent_with_a_waiting_conversation(db):
    scenarios.load(db, scenarios.read("minimal"), now=NOW)
    waiting = rows(db, "msdyn_ocliveworkitem", db.tables["msdyn_ocliveworkitem"].c.statuscode == 3)
    assert [(r["msdyn_title"], r["msdyn_activeagentid"]) for r in waiting] == [("Refund for order #10001",
                                                                                DOC_AGENT_ID)]
    row = waiting[0]
    assert (row["statecode"], row["createdon"], row["modifiedon"]) == (0, "2026-01-12T12:00:00Z",
                                                                       "2026-01-15T10:00:00Z")
    [session] = rows(db, "msdyn_ocsession", db.tables["msdyn_ocsession"].c.activityid == row["msdyn_lastsessionid"])
    assert session["msdyn_liveworkitemid"] == row["activityid"]
    assert session["msdyn_activeagentid"] == DOC_AGENT_ID
    assert any(u["systemuserid"] == ADMIN_USER_ID for u in rows(db, "systemuser"))


def test_default_scenario_equals_the_generator(tmp_path):
    generated = make_emulator(tmp_path / "g.db", conversations=500)
    db = Database(f"sqlite:///{tmp_path / 's.db'}")
    scenarios.load(db, scenarios.read("default"), now=NOW)
    for table in ("msdyn_ocliveworkitem", "systemuser", "msdyn_ocsession"):
        assert rows(db, table) == rows(generated.db, table)
    db.dispose()
    generated.db.dispose()


def test_statuses_by_label_or_value_lookups_by_key_and_relative_dates(db):
    load_text(db, json.dumps({
        "agents": [{"key": "a", "fullname": "Ann Lee"}],
        "workstreams": [{"key": "w", "name": "SMS", "channel": 192340000, "mode": "Pick"}],
        "customers": [{"key": "acme", "type": "account", "name": "Acme"},
                      {"key": "c", "name": "Cy Young", "account": "acme"}],
        "conversations": [
            {"key": "x", "status": 5, "agent": "a", "workstream": "w", "customer": "c", "created": "-1d2h",
             "modified": "+0s"},
            {"key": "y", "status": "closed", "agent": "a", "created": "2026-01-01T08:00:00Z", "closed": "-1w",
             "columns": {"msdyn_transfercount": 2}},
        ]}))
    x, y = sorted(rows(db, "msdyn_ocliveworkitem"), key=lambda r: r["createdon"], reverse=True)
    assert (x["statuscode"], x["statecode"], x["createdon"]) == (5, 0, "2026-01-14T10:00:00Z")
    assert x["msdyn_wrapupinitiatedon"] == "2026-01-15T12:00:00Z"
    assert (x["msdyn_channel"], x["msdyn_workstreamworkdistributionmode"]) == ("192340000", 192350001)
    assert (x["msdyn_customer__target"], x["subject"]) == ("contact", "Conversation 1 (Cy Young)")
    assert (y["statuscode"], y["statecode"], y["msdyn_closedon"]) == (4, 1, "2026-01-08T12:00:00Z")
    assert y["msdyn_transfercount"] == 2
    [contact] = rows(db, "contact")
    [account] = rows(db, "account")
    assert contact["parentcustomerid"] == account["accountid"]


def test_ids_without_an_explicit_id_are_stable(tmp_path):
    text = json.dumps({"name": "s", "agents": [{"key": "a", "fullname": "Ann Lee"}]})
    ids = []
    for name in ("1.db", "2.db"):
        db = Database(f"sqlite:///{tmp_path / name}")
        load_text(db, text)
        ids.append(sorted(r["systemuserid"] for r in rows(db, "systemuser")))
        db.dispose()
    assert ids[0] == ids[1]


@pytest.mark.parametrize("text, line, words", [
    ('{\n  "agents": [\n    {"fullname": "A"}\n  ],\n  "conversations": [\n    {"title": "x",\n'
     '     "status": "Wating"}\n  ]\n}', 7, "conversations[0].status: 'Wating' is not a conversation status"),
    ('{\n  "conversations": [\n    {"agent": "nobody"}\n  ]\n}', 3,
     "conversations[0].agent: 'nobody' is not the key of one of the agents"),
    ('{\n  "conversations": [\n    {},\n    {"created": "-3x"}\n  ]\n}', 4,
     "conversations[1].created: '-3x' is not a date"),
    ('{\n  "agents": [\n    {"fullname": "A", "colour": "red"}\n  ]\n}', 3, "agents[0].colour: unknown field"),
    ('{\n  "agent": []\n}', 2, "agent: unknown section"),
    ('{\n  "agents": [\n    {"title": "x"}\n  ]\n}', 3, "agents[0].fullname: is required"),
    ('{\n  "conversations": [\n    {"status": "Open",\n     "closed": "-1d"}\n  ]\n}', 4,
     "conversations[0].closed: only a Closed conversation"),
    ('{\n  "generator": {"conversations": -1}\n}', 2, "generator.conversations: -1 must be a whole number"),
    ('{\n  "tables": {"msdyn_ocliveworkitem": [\n    {"activityid": "x", "nope": 1}]}\n}', 3,
     "tables.msdyn_ocliveworkitem[0].nope: 'nope' is not a column"),
    ('{\n  "agents": [\n    {"fullname": "A",\n  }\n  ]\n}', 4, "not valid JSON"),
])
def test_errors_name_the_field_and_the_line(db, text, line, words):
    with pytest.raises(scenarios.ScenarioError) as error:
        load_text(db, text, "bad.json")
    message = str(error.value)
    assert message.startswith(f"bad.json, line {line}: ")
    assert words in message
    assert db.count("msdyn_ocliveworkitem") == 0


def test_refuses_to_mix_with_existing_data_without_reset(db):
    scenarios.load(db, scenarios.read("minimal"), now=NOW)
    with pytest.raises(scenarios.ScenarioError, match="pass --reset"):
        scenarios.load(db, scenarios.read("minimal"), now=NOW)
    scenarios.load(db, scenarios.read("minimal"), now=NOW, reset=True)
    assert db.count("msdyn_ocliveworkitem") == 5


def test_cli_seed_scenario_and_errors(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    result = runner.invoke(main, ["seed", "--database", url, "--scenario", "minimal", "--now", "2026-01-15T12:00:00Z"])
    assert result.exit_code == 0, result.output
    assert "Loaded scenario minimal: 5 conversations" in result.output
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "conversations": [\n    {"priority": "Urgent"}\n  ]\n}')
    result = runner.invoke(main, ["seed", "--database", url, "--reset", "--scenario", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}, line 3: conversations[0].priority: 'Urgent' is not a priority" in result.output
    result = runner.invoke(main, ["seed", "--database", url, "--scenario", "nosuch"])
    assert "unknown scenario 'nosuch'" in result.output


def test_export_import_round_trip(tmp_path):
    source = make_emulator(tmp_path / "source.db", conversations=60)
    runner = CliRunner()
    exported = tmp_path / "export.json"
    result = runner.invoke(main, ["export", str(exported), "--database", f"sqlite:///{tmp_path / 'source.db'}"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["import", str(exported), "--database", f"sqlite:///{tmp_path / 'copy.db'}"])
    assert result.exit_code == 0, result.output
    copy = Database(f"sqlite:///{tmp_path / 'copy.db'}")
    for table in source.db.tables:
        assert rows(copy, table) == rows(source.db, table), table
    # the copy serves the same answers
    query = "msdyn_ocliveworkitems?$select=msdyn_title,createdon&$orderby=createdon desc&$top=5"
    copy_emulator = make_emulator(tmp_path / "copy.db", conversations=0)
    assert Client(create_app(copy_emulator)).values(query) == Client(create_app(source)).values(query)
    for db in (copy, copy_emulator.db, source.db):
        db.dispose()
