"""Scenarios declare their own tables, columns and keys (`schema`) and fill any table with rows made up from its
columns' types (`generate`), on both backends; the Web API then serves them like any table."""
from __future__ import annotations

import json

import pytest

from emulator.app import create_app
from emulator.store import scenario as scenarios

from .conftest import NOW, Client

SCENARIO = {
    "name": "custom",
    "schema": {
        "tables": {
            "new_project": {
                "display_name": "Project",
                "columns": {
                    "new_code": "string", "new_budget": "money", "new_hours": {"type": "int", "min": 0, "max": 500},
                    "new_stage": {"type": "choice", "options": {"1": "Planned", "2": "Active", "3": "Done"}},
                    "new_tags": {"type": "choices", "options": {"10": "Red", "20": "Blue"}},
                    "new_due": "datetime", "new_open": "bool", "new_accountid": {"type": "lookup", "target": "account"},
                },
                "keys": {"new_code_key": ["new_code"]},
            },
        },
        "columns": {"account": {"new_region": "string"}},
    },
    "tables": {"account": [{"accountid": "00000000-0000-0000-0000-0000000000a1", "name": "Contoso",
                            "new_region": "North"}]},
    "generate": {"new_project": 25, "contact": 5},
}


@pytest.fixture
def loaded(fresh):
    scenarios.load(fresh.db, scenarios.from_dict(json.loads(json.dumps(SCENARIO))), now=NOW, reset=True)
    return fresh


def test_scenario_declares_tables_and_generates_rows(loaded):
    api = Client(create_app(loaded))
    [entity] = api.values("EntityDefinitions?$select=LogicalName,EntitySetName&$filter=LogicalName eq 'new_project'")
    assert entity["EntitySetName"] == "new_projects"
    assert [k["KeyAttributes"] for k in api.values("EntityDefinitions(LogicalName='new_project')/Keys")] == [
        ["new_code"]]
    projects = api.values("new_projects?$select=new_name,new_code,new_budget,new_hours,new_stage,new_tags,new_due,"
                          "new_open,_new_accountid_value,statecode")
    assert len(projects) == 25
    for project in projects:
        assert project["new_name"] and project["new_code"] and project["statecode"] == 0
        assert 0 <= project["new_hours"] <= 500 and project["new_stage"] in (1, 2, 3)
        assert set(project["new_tags"].split(",")) <= {"10", "20"}
        assert project["_new_accountid_value"] == "00000000-0000-0000-0000-0000000000a1"
    assert len(api.values("contacts?$select=contactid")) == 5
    assert api.values("accounts?$select=new_region")[0]["new_region"] == "North"
    # the same file again (a reset) finds its schema in place, and the rows are the same
    scenarios.load(loaded.db, scenarios.from_dict(json.loads(json.dumps(SCENARIO))), now=NOW, reset=True)
    again = api.values("new_projects?$select=new_code,new_budget")
    assert {(p["new_projectid"], p["new_code"], p["new_budget"]) for p in again} == {
        (p["new_projectid"], p["new_code"], p["new_budget"]) for p in projects}


def test_scenario_schema_errors_name_the_field(fresh):
    bad = {"name": "bad", "schema": {"tables": {"Project": {"columns": {}}}}}
    with pytest.raises(scenarios.ScenarioError, match=r"schema\.tables\.Project.*custom table name"):
        scenarios.load(fresh.db, scenarios.from_dict(bad), now=NOW, reset=True)
    bad = {"name": "bad", "schema": {"tables": {"new_x": {"columns": {"new_y": "colour"}}}}}
    with pytest.raises(scenarios.ScenarioError, match=r"new_y"):
        scenarios.load(fresh.db, scenarios.from_dict(bad), now=NOW, reset=True)
    assert "new_x" not in fresh.db.tables
