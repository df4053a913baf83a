"""An org's schema imported (docs/metadata.md): a realistic CSDL $metadata (the emulator's own plus hand-written
custom tables with keys, lookups, computed and image columns) and its EntityDefinitions export, the compiled cache,
`metadata pull` from one live emulator served by another, every bad input; imported tables read and written over
real HTTP on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path

import orjson
import pytest
import requests
from click.testing import CliRunner

from bench.metadata_org import synthetic_csdl
from emulator.app import create_app
from emulator.cli import main
from emulator.metadata import SHIPPED, Catalog
from emulator.metadata import cache as metadata_cache
from emulator.metadata import model as m
from emulator.server import prepare
from emulator.settings import Settings
from emulator.webapi.discovery import _csdl_bytes

from .conftest import AUTH, BACKENDS, NOW, Client, LiveServer, database_url, drop_database

CUSTOM_TYPES = """
<EntityType Name="new_project" BaseType="mscrm.crmbaseentity">
  <Key><PropertyRef Name="new_projectid"/></Key>
  <Property Name="new_projectid" Type="Edm.Guid"/>
  <Property Name="new_name" Type="Edm.String" MaxLength="200" Unicode="false"/>
  <Property Name="new_code" Type="Edm.String" MaxLength="20" Nullable="false"/>
  <Property Name="new_budget" Type="Edm.Decimal" Scale="Variable"/>
  <Property Name="new_stage" Type="Edm.Int32"/>
  <Property Name="new_active" Type="Edm.Boolean"/>
  <Property Name="new_startdate" Type="Edm.DateTimeOffset"/>
  <Property Name="new_notes" Type="Edm.String"/>
  <Property Name="new_total" Type="Edm.Decimal" Scale="Variable">
    <Annotation Term="Org.OData.Core.V1.Computed" Bool="true"/>
    <Annotation Term="Org.OData.Core.V1.Description" String="Sum of the tasks' costs."/>
  </Property>
  <Property Name="entityimage" Type="Edm.Binary"/>
  <Property Name="_new_accountid_value" Type="Edm.Guid"/>
  <Property Name="createdon" Type="Edm.DateTimeOffset"/>
  <Property Name="versionnumber" Type="Edm.Int64"/>
  <NavigationProperty Name="new_accountid" Type="mscrm.account" Partner="new_account_new_project">
    <ReferentialConstraint Property="_new_accountid_value" ReferencedProperty="accountid"/>
  </NavigationProperty>
  <NavigationProperty Name="new_project_tasks" Type="Collection(mscrm.new_projecttask)" Partner="new_projectid"/>
  <Annotation Term="OData.Community.Keys.V1.AlternateKeys"><Collection>
    <Record Type="OData.Community.Keys.V1.AlternateKey"><PropertyValue Property="Key"><Collection>
      <Record Type="OData.Community.Keys.V1.PropertyRef">
        <PropertyValue Property="Alias" String="new_code"/><PropertyValue Property="Name" PropertyPath="new_code"/>
      </Record></Collection></PropertyValue></Record></Collection></Annotation>
</EntityType>
<EntityType Name="new_projecttask" BaseType="mscrm.crmbaseentity">
  <Key><PropertyRef Name="new_projecttaskid"/></Key>
  <Property Name="new_projecttaskid" Type="Edm.Guid"/>
  <Property Name="new_name" Type="Edm.String" MaxLength="100"/>
  <Property Name="new_cost" Type="Edm.Double"/>
  <Property Name="_new_projectid_value" Type="Edm.Guid"/>
  <Property Name="_new_regardingid_value" Type="Edm.Guid"/>
  <NavigationProperty Name="new_projectid" Type="mscrm.new_project" Partner="new_project_tasks">
    <ReferentialConstraint Property="_new_projectid_value" ReferencedProperty="new_projectid"/>
  </NavigationProperty>
  <NavigationProperty Name="new_regardingid_account" Type="mscrm.account">
    <ReferentialConstraint Property="_new_regardingid_value" ReferencedProperty="accountid"/>
  </NavigationProperty>
  <NavigationProperty Name="new_regardingid_contact" Type="mscrm.contact">
    <ReferentialConstraint Property="_new_regardingid_value" ReferencedProperty="contactid"/>
  </NavigationProperty>
</EntityType>
"""
CUSTOM_SETS = ('<EntitySet Name="new_projects" EntityType="Microsoft.Dynamics.CRM.new_project"/>'
               '<EntitySet Name="new_projecttasks" EntityType="Microsoft.Dynamics.CRM.new_projecttask"/>')


def _label(text: str) -> dict:
    localized = {"Label": text, "LanguageCode": 1033}
    return {"LocalizedLabels": [localized], "UserLocalizedLabel": localized}


DETAILS = {"value": [{
    "LogicalName": "new_project", "SchemaName": "new_Project", "EntitySetName": "new_projects",
    "DisplayName": _label("Project"), "DisplayCollectionName": _label("Projects"),
    "Description": _label("A customer project."), "PrimaryIdAttribute": "new_projectid",
    "PrimaryNameAttribute": "new_name", "OwnershipType": "OrganizationOwned", "IsActivity": False,
    "Keys": [{"LogicalName": "new_project_code", "KeyAttributes": ["new_code"], "DisplayName": _label("Code")}],
    "Attributes": [
        {"LogicalName": "new_name", "AttributeType": "String", "DisplayName": _label("Project Name"),
         "RequiredLevel": {"Value": "ApplicationRequired"}, "MaxLength": 150},
        {"LogicalName": "new_notes", "AttributeType": "Memo", "MaxLength": 4000, "DisplayName": _label("Notes")},
        {"LogicalName": "new_stage", "AttributeType": "Picklist", "DisplayName": _label("Stage"),
         "DefaultFormValue": 100000000,
         "OptionSet": {"Name": "new_project_new_stage", "IsGlobal": False, "Options": [
             {"Value": 100000000, "Label": _label("Planned")}, {"Value": 100000001, "Label": _label("Running")},
             {"Value": 100000002, "Label": _label("Done")}]}},
        {"LogicalName": "new_active", "AttributeType": "Boolean", "DisplayName": _label("Active"),
         "OptionSet": {"TrueOption": {"Value": 1, "Label": _label("Running")},
                       "FalseOption": {"Value": 0, "Label": _label("Stopped")}}},
        {"LogicalName": "new_budget", "AttributeType": "Decimal", "MinValue": 0, "MaxValue": 1000000,
         "Precision": 2},
        {"LogicalName": "new_total", "AttributeType": "Decimal", "IsValidForCreate": False,
         "IsValidForUpdate": False},
        {"LogicalName": "new_accountid", "AttributeType": "Lookup", "Targets": ["account"],
         "DisplayName": _label("Account")},
    ]}]}


def org_document() -> bytes:
    """The emulator's own $metadata with two custom tables added, as a real org's document has both."""
    text = _csdl_bytes(SHIPPED).decode()
    text = text.replace("<ComplexType ", CUSTOM_TYPES + "<ComplexType ", 1)
    return text.replace("<FunctionImport ", CUSTOM_SETS + "<FunctionImport ", 1).encode()


@pytest.fixture(autouse=True)
def metadata_cache_dir(tmp_path, monkeypatch) -> Path:
    directory = tmp_path / "metadata-cache"
    monkeypatch.setenv(metadata_cache.CACHE_ENV, str(directory))
    return directory


@pytest.fixture
def org_dir(tmp_path) -> Path:
    directory = tmp_path / "org"
    directory.mkdir()
    (directory / "metadata.xml").write_bytes(org_document())
    (directory / "entitydefinitions.json").write_bytes(orjson.dumps(DETAILS))
    return directory


def imported(path: Path) -> dict[str, m.Table]:
    return {t.logical_name: t for t in metadata_cache.parse(metadata_cache.source(path)).tables}


# -- import -----------------------------------------------------------------------------------------------------
def test_csdl_alone_gives_tables_columns_lookups_keys(tmp_path):
    path = tmp_path / "metadata.xml"
    path.write_bytes(org_document())
    tables = imported(path)
    assert set(tables) == {t.logical_name for t in SHIPPED.tables} | {"new_project", "new_projecttask"}
    project = tables["new_project"]
    assert (project.entity_set, project.primary_id, project.primary_name) == ("new_projects", "new_projectid",
                                                                            "new_name")  # guessed: *_name
    columns = {a.logical_name: a for a in project.attributes}
    assert "entityimage" not in columns  # Edm.Binary: left out
    assert (columns["new_name"].type, columns["new_name"].max_length) == (m.STRING, 200)
    assert columns["new_budget"].type == m.DECIMAL and columns["new_stage"].type == m.INTEGER
    assert columns["new_active"].type == m.BOOLEAN and columns["new_startdate"].type == m.DATETIME
    assert columns["versionnumber"].type == m.BIGINT
    assert columns["new_total"].read_only and columns["new_total"].description == "Sum of the tasks' costs."
    assert columns["new_accountid"].type == m.LOOKUP
    assert columns["new_accountid"].navigation == (("account", "new_accountid"),)
    assert columns["new_projectid"].required == "SystemRequired"
    assert columns["new_code"].required == "SystemRequired" and columns["new_name"].required == "None"
    assert [(k.attributes) for k in project.keys] == [("new_code",)]
    task = {a.logical_name: a for a in tables["new_projecttask"].attributes}
    assert task["new_projectid"].targets == ("new_project",)
    assert task["new_regardingid"].type == m.CUSTOMER  # account or contact
    assert task["new_regardingid"].navigation == (("account", "new_regardingid_account"),
                                                  ("contact", "new_regardingid_contact"))
    # the shipped tables come back as they were: the document's $metadata is the emulator's own
    assert _csdl_bytes(Catalog(tables[t.logical_name] for t in SHIPPED.tables)) == _csdl_bytes(SHIPPED)


def test_details_merge_labels_lengths_required_levels(org_dir):
    project = imported(org_dir)["new_project"]
    columns = {a.logical_name: a for a in project.attributes}
    assert (project.display_name, project.display_collection_name, project.description) == (
        "Project", "Projects", "A customer project.")
    assert project.primary_name == "new_name" and project.ownership == "OrganizationOwned"
    assert columns["new_name"].display_name == "Project Name"
    assert columns["new_name"].required == "ApplicationRequired" and columns["new_name"].max_length == 150
    assert columns["new_notes"].type == m.MEMO and columns["new_notes"].max_length == 4000
    stage = columns["new_stage"]
    assert stage.type == m.PICKLIST and stage.default == 100000000
    assert stage.option_set is not None and stage.option_set.label(100000001) == "Running"
    assert (columns["new_active"].true_label, columns["new_active"].false_label) == ("Running", "Stopped")
    budget = columns["new_budget"]
    assert (budget.min_value, budget.max_value, budget.precision) == (0, 1000000, 2)
    assert [(k.logical_name, k.attributes, k.display_name) for k in project.keys] == [
        ("new_project_code", ("new_code",), "Code")]


def test_imported_table_of_a_shipped_name_merges_column_by_column(tmp_path):
    """An org's account: its extra columns join, the shipped ones stay; a detail wins over the shipped column."""
    text = org_document().decode().replace(
        '<Property Name="accountnumber" Type="Edm.String" MaxLength="20" />',
        '<Property Name="accountnumber" Type="Edm.String" MaxLength="20" />'
        '<Property Name="new_revenuetier" Type="Edm.Decimal" Scale="Variable" />'
        '<Property Name="new_websitenote" Type="Edm.String" MaxLength="200" />', 1)
    assert "new_revenuetier" in text
    (tmp_path / "metadata.xml").write_text(text)
    (tmp_path / "entitydefinitions.json").write_bytes(orjson.dumps({"value": [{
        "LogicalName": "account", "Attributes": [{"LogicalName": "accountnumber", "AttributeType": "String",
                                                  "MaxLength": 30}]}]}))
    catalog = metadata_cache.catalog(tmp_path)
    account = catalog.table("account")
    assert [t.logical_name for t in catalog.tables][:len(SHIPPED.tables)] == [t.logical_name for t in SHIPPED.tables]
    assert account.attribute("new_revenuetier") is not None and account.attribute("new_websitenote").max_length == 200
    assert account.attribute("accountnumber").max_length == 30
    assert account.attribute("statecode").option_set is not None  # the shipped state model stays
    assert catalog.table("msdyn_ocliveworkitem") == SHIPPED.table("msdyn_ocliveworkitem")


def test_a_thousand_table_document(tmp_path):
    path = tmp_path / "metadata.xml"
    path.write_bytes(synthetic_csdl(1000, 40))
    loaded = metadata_cache.load(metadata_cache.source(path))
    tables = {t.logical_name: t for t in loaded.imported.tables}
    assert len(tables) == 1000 and len(loaded.imported.skipped_columns) == 1000
    last = tables["new_table0999"]
    assert len(last.attributes) == 40 and last.keys[0].attributes == ("new_code",)
    assert last.attribute("new_new_table0998id").targets == ("new_table0998",)
    assert last.attribute("ownerid").navigation == (("systemuser", "ownerid"),)
    assert metadata_cache.load(metadata_cache.source(path)).cached


# -- the cache --------------------------------------------------------------------------------------------------
def test_cache_hit_miss_and_invalidation(org_dir, metadata_cache_dir):
    src = metadata_cache.source(org_dir)
    first = metadata_cache.load(src)
    assert not first.cached and list(metadata_cache_dir.glob("*.pickle"))
    second = metadata_cache.load(src)
    assert second.cached and second.imported == first.imported
    document = org_dir / "metadata.xml"
    document.write_bytes(document.read_bytes() + b"<!-- changed -->\n")  # content, size and time change
    assert not metadata_cache.load(src).cached
    assert metadata_cache.load(src).cached
    details = org_dir / "entitydefinitions.json"
    data = json.loads(details.read_text())
    data["value"][0]["DisplayName"] = _label("Programme")
    details.write_text(json.dumps(data))
    changed = metadata_cache.load(src)
    assert not changed.cached
    assert next(t for t in changed.imported.tables if t.logical_name == "new_project").display_name == "Programme"
    stat = document.stat()  # same bytes, new modification time: rebuilt too
    os.utime(document, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert not metadata_cache.load(src).cached
    for pickled in metadata_cache_dir.glob("*.pickle"):  # a damaged cache file is rebuilt, not an error
        pickled.write_bytes(b"not a pickle")
    assert not metadata_cache.load(src).cached and metadata_cache.load(src).cached


def test_metadata_check_command_reports_the_cache(org_dir):
    runner = CliRunner()
    first = runner.invoke(main, ["metadata", "check", str(org_dir)])
    assert first.exit_code == 0, first.output
    assert f"{len(SHIPPED.tables) + 2} tables" in first.output and "parsed, cache written" in first.output
    again = runner.invoke(main, ["metadata", "check", str(org_dir)])
    assert "from the cache" in again.output


# -- served over HTTP ---------------------------------------------------------------------------------------------
def make(path, backend: str, **settings):
    return prepare(Settings(database_url=database_url(path, backend), now=NOW.isoformat(), conversations=5,
                            agents=2, **settings))


@pytest.fixture(params=BACKENDS)
def org_emulator(request, tmp_path, org_dir):
    emulator = make(tmp_path / "org.db", request.param, metadata=str(org_dir))
    yield emulator
    drop_database(emulator)


def test_imported_tables_are_served_read_and_written(org_emulator):
    server = LiveServer(create_app(org_emulator))
    api = f"{server.url}/api/data/v9.2"
    http = requests.Session()
    http.headers.update(AUTH)
    try:
        document = http.get(f"{api}/$metadata").text
        assert '<EntityType Name="new_project"' in document and 'Name="new_projecttasks"' in document
        names = [s["name"] for s in http.get(f"{api}/").json()["value"]]
        assert "new_projects" in names and "accounts" in names
        definition = http.get(f"{api}/EntityDefinitions(LogicalName='new_project')/Attributes/"
                              "Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName"
                              "&$expand=OptionSet($select=Options)").json()["value"]
        assert [o["Label"]["UserLocalizedLabel"]["Label"] for o in definition[0]["OptionSet"]["Options"]] == [
            "Planned", "Running", "Done"]
        entity = http.get(f"{api}/EntityDefinitions(LogicalName='new_project')?$select=DisplayName,"
                          "PrimaryNameAttribute").json()
        assert entity["PrimaryNameAttribute"] == "new_name"

        account = http.post(f"{api}/accounts", json={"name": "Contoso"})
        assert account.status_code == 204, account.text
        account_id = re.search(r"\(([0-9a-f-]{36})\)", account.headers["OData-EntityId"]).group(1)
        created = http.post(f"{api}/new_projects", json={
            "new_name": "Apollo", "new_code": "AP-1", "new_budget": 12.5, "new_active": True,
            "new_startdate": "2026-02-01T09:00:00Z", "new_accountid@odata.bind": f"/accounts({account_id})"})
        assert created.status_code == 204, created.text
        project_id = re.search(r"\(([0-9a-f-]{36})\)", created.headers["OData-EntityId"]).group(1)
        row = http.get(f"{api}/new_projects({project_id})?$select=new_name,new_stage,_new_accountid_value"
                       "&$expand=new_accountid($select=name)",
                       headers={"Prefer": 'odata.include-annotations="*"'}).json()
        assert row["new_name"] == "Apollo" and row["_new_accountid_value"] == account_id
        assert row["new_stage"] == 100000000  # the details' default
        assert row["new_stage@OData.Community.Display.V1.FormattedValue"] == "Planned"
        assert row["new_accountid"]["name"] == "Contoso"
        found = http.get(f"{api}/new_projects?$filter=new_code eq 'AP-1'&$select=new_name").json()["value"]
        assert [r["new_name"] for r in found] == ["Apollo"]

        out_of_range = http.patch(f"{api}/new_projects({project_id})", json={"new_stage": 7})
        assert out_of_range.status_code == 400 and out_of_range.json()["error"]["code"]
        too_long = http.post(f"{api}/new_projects", json={"new_name": "x" * 151})
        assert too_long.status_code == 400 and too_long.json()["error"]["code"] == "0x80044331"
        computed = http.post(f"{api}/new_projects", json={"new_name": "B", "new_total": 3})
        assert computed.status_code == 400, computed.text
        assert http.patch(f"{api}/new_projects({project_id})", json={"new_stage": 100000002}).status_code == 204

        task = http.post(f"{api}/new_projecttasks", json={
            "new_name": "Design", "new_cost": 2.5, "new_projectid@odata.bind": f"/new_projects({project_id})",
            "new_regardingid_account@odata.bind": f"/accounts({account_id})"})
        assert task.status_code == 204, task.text
        tasks = http.get(f"{api}/new_projecttasks?$select=new_name,_new_projectid_value,_new_regardingid_value"
                         ).json()["value"]
        assert [(t["_new_projectid_value"], t["_new_regardingid_value"]) for t in tasks] == [(project_id, account_id)]
        assert http.delete(f"{api}/new_projecttasks({re.search(r'([0-9a-f-]{36})', task.headers['OData-EntityId']).group(1)})").status_code == 204  # noqa: E501
        assert http.delete(f"{api}/new_projects({project_id})").status_code == 204
        # the conversations and getConversations' table are the shipped ones, with their data
        assert len(http.get(f"{api}/msdyn_ocliveworkitems?$select=msdyn_title").json()["value"]) == 5
    finally:
        server.stop()


def test_scenario_key_and_a_grown_file_on_an_existing_database(tmp_path, org_dir):
    project_id = str(uuid.uuid4())
    scenario = tmp_path / "org-scenario.json"
    scenario.write_text(json.dumps({"name": "org", "metadata": "org", "tables": {
        "new_project": [{"new_projectid": project_id, "new_name": "From the scenario", "new_code": "S-1"}]}}))
    url = f"sqlite:///{tmp_path / 'scenario.db'}"
    emulator = prepare(Settings(database_url=url, now=NOW.isoformat(), scenario=str(scenario)))
    client = Client(create_app(emulator))
    assert [r["new_name"] for r in client.values("new_projects?$select=new_name")] == ["From the scenario"]
    emulator.db.dispose()
    # the org's table gains a column: the next start adds it to the table that is there
    document = org_dir / "metadata.xml"
    document.write_text(document.read_text().replace(
        '<Property Name="new_code" Type="Edm.String" MaxLength="20" Nullable="false"/>',
        '<Property Name="new_code" Type="Edm.String" MaxLength="20" Nullable="false"/>'
        '<Property Name="new_phase" Type="Edm.Int32"/>'))
    emulator = prepare(Settings(database_url=url, now=NOW.isoformat(), scenario=str(scenario)))
    client = Client(create_app(emulator))
    assert client.request("PATCH", f"new_projects({project_id})", json={"new_phase": 2}).status_code == 204
    assert client.values("new_projects?$select=new_phase")[0]["new_phase"] == 2
    emulator.db.dispose()


# -- pull ---------------------------------------------------------------------------------------------------------
def test_pull_round_trip(org_emulator, tmp_path):
    """Pull from one emulator (standing in for the org), serve the files from another: the same $metadata."""
    source = LiveServer(create_app(org_emulator))
    token = "secret-token-" + uuid.uuid4().hex
    out = tmp_path / "pulled"
    try:
        result = CliRunner().invoke(main, ["metadata", "pull", "--org", source.url, "--token", token, "--out",
                                           str(out)])
        assert result.exit_code == 0, result.output
        assert token not in result.output
        assert {p.name for p in out.iterdir()} == {"metadata.xml", "entitydefinitions.json"}
        for written in out.iterdir():
            assert token.encode() not in written.read_bytes()
        subset = CliRunner().invoke(main, ["metadata", "pull", "--org", source.url, "--token", token, "--tables",
                                           "new_projecttask", "--out", str(tmp_path / "subset")])
        assert subset.exit_code == 0, subset.output
    finally:
        source.stop()
    copy = make(tmp_path / "copy.db", "sqlite", metadata=str(out))
    original, served = Client(create_app(org_emulator)), Client(create_app(copy))
    try:
        assert served.get("$metadata").data == original.get("$metadata").data
        for table in ("new_project", "account", "msdyn_ocliveworkitem"):
            query = f"EntityDefinitions(LogicalName='{table}')?$expand=Attributes"
            assert served.get(query).get_json() == original.get(query).get_json(), table
        cast = ("EntityDefinitions(LogicalName='new_project')/Attributes/Microsoft.Dynamics.CRM."
                "PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet")
        assert served.get(cast).get_json() == original.get(cast).get_json()
    finally:
        copy.db.dispose()
    # --tables: the named table and every table its lookups reach, nothing else
    pruned = imported(tmp_path / "subset")
    assert {"new_projecttask", "new_project", "account", "contact", "systemuser"} <= set(pruned)
    assert "msdyn_ocliveworkitem" not in pruned and "incident" not in pruned


def test_pull_errors_are_one_line_without_the_token(tmp_path, minimal_server):
    token = "secret-" + uuid.uuid4().hex
    unknown = CliRunner().invoke(main, ["metadata", "pull", "--org", minimal_server.url, "--token", token,
                                        "--tables", "nosuchtable", "--out", str(tmp_path / "x")])
    assert unknown.exit_code == 1 and "no table nosuchtable" in unknown.output and token not in unknown.output
    down = CliRunner().invoke(main, ["metadata", "pull", "--org", "http://127.0.0.1:9", "--token", token,
                                     "--out", str(tmp_path / "y")])
    assert down.exit_code == 1 and "cannot reach" in down.output and token not in down.output


# -- bad input ----------------------------------------------------------------------------------------------------
HEAD = ('<?xml version="1.0" encoding="utf-8"?>\n'
        '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">\n'
        '<edmx:DataServices>\n'
        '<Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" xmlns="http://docs.oasis-open.org/odata/ns/edm">\n')
TAIL = ('<EntityContainer Name="System">\n'
        '<EntitySet Name="new_xs" EntityType="Microsoft.Dynamics.CRM.new_x"/>\n'
        '</EntityContainer>\n</Schema>\n</edmx:DataServices>\n</edmx:Edmx>\n')
GOOD_TYPE = ('<EntityType Name="new_x" BaseType="mscrm.crmbaseentity">\n'
             '<Key><PropertyRef Name="new_xid"/></Key>\n'
             '<Property Name="new_xid" Type="Edm.Guid"/>\n')

BAD = {
    "not well-formed": (HEAD + GOOD_TYPE + "<Property Name='a' Type='Edm.String'>\n</EntityType>\n" + TAIL,
                        r"line 9: not well-formed XML: mismatched tag"),
    "entity bomb": ('<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
                    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n]>\n'
                    '<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">&lol2;</edmx:Edmx>\n',
                    r"line 2: refused: DTDForbidden"),
    "unknown Edm type": (HEAD + GOOD_TYPE + '<Property Name="new_where" Type="Edm.GeographyPoint"/>\n'
                         "</EntityType>\n" + TAIL,
                         r"line 8: <Property Name=\"new_where\"> of EntityType 'new_x': unknown type "
                         r"'Edm.GeographyPoint'"),
    "lookup to a missing table": (
        HEAD + GOOD_TYPE + '<Property Name="_new_parentid_value" Type="Edm.Guid"/>\n'
        '<NavigationProperty Name="new_parentid" Type="mscrm.new_missing">\n'
        '<ReferentialConstraint Property="_new_parentid_value" ReferencedProperty="new_missingid"/>\n'
        "</NavigationProperty>\n</EntityType>\n" + TAIL,
        r"line 9: <NavigationProperty Name=\"new_parentid\"> of EntityType 'new_x': refers to table "
        r"'mscrm.new_missing', which is neither in the document nor one of the emulator's tables"),
    "constraint on no lookup": (
        HEAD + GOOD_TYPE + '<NavigationProperty Name="new_accountid" Type="mscrm.account">\n'
        '<ReferentialConstraint Property="_new_accountid_value" ReferencedProperty="accountid"/>\n'
        "</NavigationProperty>\n</EntityType>\n" + TAIL,
        r"line 8: <NavigationProperty Name=\"new_accountid\"> of EntityType 'new_x': its ReferentialConstraint"),
    "key names no property": (HEAD + GOOD_TYPE.replace('PropertyRef Name="new_xid"', 'PropertyRef Name="nope"')
                              + "</EntityType>\n" + TAIL,
                              r"line 5: <EntityType Name=\"new_x\">: its Key names 'nope'"),
    "not CSDL": ('<?xml version="1.0"?>\n<html><body/></html>\n', r"line 2: <html>: not a CSDL"),
    "entity set of no type": (HEAD + GOOD_TYPE + "</EntityType>\n" + TAIL.replace(
        '<EntitySet Name="new_xs" EntityType="Microsoft.Dynamics.CRM.new_x"/>',
        '<EntitySet Name="new_xs" EntityType="Microsoft.Dynamics.CRM.new_x"/>'
        '<EntitySet Name="new_ys" EntityType="Microsoft.Dynamics.CRM.new_y"/>'),
        r"line 10: <EntitySet Name=\"new_ys\">: its EntityType 'Microsoft.Dynamics.CRM.new_y' is not in the "
        r"document"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_documents_name_the_line_and_element(case, tmp_path):
    text, expected = BAD[case]
    path = tmp_path / "metadata.xml"
    path.write_text(text)
    with pytest.raises(metadata_cache.MetadataLoadError) as raised:
        metadata_cache.parse(metadata_cache.source(path))
    assert re.search(expected, str(raised.value)), str(raised.value)
    assert str(raised.value).startswith(str(path))


def test_bad_details_and_paths(tmp_path, org_dir):
    details = tmp_path / "details.json"
    details.write_text("{not json")
    with pytest.raises(metadata_cache.MetadataLoadError, match="details.json: not valid JSON"):
        metadata_cache.parse(metadata_cache.source(org_dir / "metadata.xml", details))
    details.write_text(json.dumps({"value": [{"Attributes": []}]}))
    with pytest.raises(metadata_cache.MetadataLoadError, match="table #1 has no LogicalName"):
        metadata_cache.parse(metadata_cache.source(org_dir / "metadata.xml", details))
    with pytest.raises(metadata_cache.MetadataLoadError, match="metadata.xml is missing"):
        metadata_cache.source(tmp_path)


def test_serve_with_a_bad_file_exits_with_one_line_and_creates_nothing(tmp_path):
    text, _ = BAD["unknown Edm type"]
    path = tmp_path / "metadata.xml"
    path.write_text(text)
    database = tmp_path / "never.db"
    result = CliRunner().invoke(main, ["serve", "--metadata", str(path), "--database", f"sqlite:///{database}",
                                       "--port", "0"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "line 8" in lines[0], result.output
    assert not database.exists()  # nothing half-loaded
