"""Metadata writes over the Web API on both backends: tables (POST EntityDefinitions and CreateEntities as the
released SDK sends it), columns of every type, alternate keys, one-to-many and many-to-many relationships, deletes,
the errors for bad definitions, the metadata reads clients make before writing, and the custom schema surviving a
restart and reaching a second process."""
from __future__ import annotations

import re

import pytest
import requests
import sqlalchemy as sa

from emulator.app import create_app
from emulator.server import Emulator
from emulator.store.database import Database

from .conftest import Client, start_server_process

NS = "Microsoft.Dynamics.CRM"


def label(text: str) -> dict:
    return {"@odata.type": f"{NS}.Label",
            "LocalizedLabels": [{"@odata.type": f"{NS}.LocalizedLabel", "Label": text, "LanguageCode": 1033}]}


def column(kind: str, schema: str, complex_: bool = False, **extra) -> dict:
    """An attribute payload as the official Python SDK builds it (spec §3.2)."""
    prefix = f"{NS}.Complex" if complex_ else f"{NS}."
    base = {"SchemaName": schema, "DisplayName": label(schema.split("_")[-1]), "RequiredLevel": {"Value": "None"}}
    shapes = {
        "string": ("StringAttributeMetadata", {"MaxLength": 200, "FormatName": {"Value": "Text"},
                                               "IsPrimaryName": False}),
        "memo": ("MemoAttributeMetadata", {"MaxLength": 4000, "FormatName": {"Value": "Text"}, "ImeMode": "Auto"}),
        "int": ("IntegerAttributeMetadata", {"Format": "None", "MinValue": -2147483648, "MaxValue": 2147483647}),
        "decimal": ("DecimalAttributeMetadata", {"MinValue": -100000000000.0, "MaxValue": 100000000000.0,
                                                 "Precision": 2}),
        "double": ("DoubleAttributeMetadata", {"MinValue": -100000000000.0, "MaxValue": 100000000000.0,
                                               "Precision": 5}),
        "datetime": ("DateTimeAttributeMetadata", {"Format": "DateOnly", "ImeMode": "Inactive"}),
        "bool": ("BooleanAttributeMetadata", {"OptionSet": {
            "@odata.type": f"{prefix}BooleanOptionSetMetadata", "IsGlobal": False,
            "TrueOption": {"Value": 1, "Label": label("True")}, "FalseOption": {"Value": 0, "Label": label("False")}}}),
        "picklist": ("PicklistAttributeMetadata", {"IsPrimaryName": False, "OptionSet": {
            "@odata.type": f"{prefix}OptionSetMetadata", "IsGlobal": False, "Options": [
                {"@odata.type": f"{NS}.OptionMetadata", "Value": 1, "Label": label("Low")},
                {"@odata.type": f"{NS}.OptionMetadata", "Value": 2, "Label": label("High")}]}}),
        "bigint": ("BigIntAttributeMetadata", {}),
        "money": ("MoneyAttributeMetadata", {"PrecisionSource": 2}),
        "multiselect": ("MultiSelectPicklistAttributeMetadata", {"OptionSet": {
            "IsGlobal": False, "Options": [{"Value": None, "Label": label("Red")},
                                           {"Value": None, "Label": label("Blue")}]}}),
    }
    type_name, properties = shapes[kind]
    return {"@odata.type": f"{prefix}{type_name}", **base, **properties, **extra}


def table_body(schema: str, *columns: dict, complex_: bool = False) -> dict:
    primary = column("string", f"{schema.split('_')[0]}_Name", complex_, IsPrimaryName=True)
    return {"@odata.type": f"{NS}.{'Complex' if complex_ else ''}EntityMetadata", "SchemaName": schema,
            "DisplayName": label(schema), "DisplayCollectionName": label(schema + "s"),
            "Description": label(f"Custom entity for {schema}"), "OwnershipType": "UserOwned",
            "HasActivities": False, "HasNotes": True, "IsActivity": False, "Attributes": [primary, *columns]}


@pytest.fixture
def api(fresh: Emulator) -> Client:
    return Client(create_app(fresh))


def create_table(api: Client, schema: str, *columns: dict) -> None:
    response = api.request("POST", "EntityDefinitions", json=table_body(schema, *columns))
    assert response.status_code == 204, response.get_data(as_text=True)


def error(response, status: int, code: str) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()["error"]
    assert body["code"] == code, body
    return body["message"]


def sql_columns(emulator: Emulator, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(emulator.db.engine).get_columns(table)}


def sql_tables(emulator: Emulator) -> set[str]:
    return set(sa.inspect(emulator.db.engine).get_table_names())


# --- reads clients make before writing ------------------------------------------------------------------------

@pytest.mark.parametrize("table", ["account", "contact", "systemuser", "msdyn_ocliveworkitem"])
def test_picklist_cast_answers_from_the_model(api, table):
    response = api.get(f"EntityDefinitions(LogicalName='{table}')/Attributes/{NS}.PicklistAttributeMetadata"
                       f"?$select=LogicalName&$expand=OptionSet($select=Options)")
    assert response.status_code == 200, response.get_data(as_text=True)
    for item in response.get_json()["value"]:
        assert set(item) == {"LogicalName", "MetadataId", "OptionSet"} and "Options" in item["OptionSet"]


def test_picklist_cast_on_a_table_without_choices_is_empty(api):
    create_table(api, "new_Plain")
    response = api.get(f"EntityDefinitions(LogicalName='new_plain')/Attributes/{NS}.PicklistAttributeMetadata"
                       f"?$select=LogicalName&$expand=OptionSet($select=Options)")
    assert response.status_code == 200 and response.get_json()["value"] == []


# --- tables ---------------------------------------------------------------------------------------------------

def test_post_entity_definitions_creates_a_table(api, fresh):
    response = api.request("POST", "EntityDefinitions", json=table_body("new_Product"),
                           headers={"MSCRM.SolutionUniqueName": "MySolution"})
    assert response.status_code == 204 and response.get_data() == b""
    entity_id = re.search(r"/EntityDefinitions\(([0-9a-f-]{36})\)$", response.headers["OData-EntityId"]).group(1)
    [row] = api.values("EntityDefinitions?$select=MetadataId,LogicalName,SchemaName,EntitySetName,"
                       "PrimaryNameAttribute,PrimaryIdAttribute&$filter=LogicalName eq 'new_product'",
                       headers={"Consistency": "Strong"})
    assert row == {"MetadataId": entity_id, "LogicalName": "new_product", "SchemaName": "new_Product",
                   "EntitySetName": "new_products", "PrimaryNameAttribute": "new_name",
                   "PrimaryIdAttribute": "new_productid"}
    one = api.get(f"EntityDefinitions({entity_id})?$select=IsCustomEntity,IsManaged,ObjectTypeCode").get_json()
    assert one["IsCustomEntity"] is True and one["IsManaged"] is False and one["ObjectTypeCode"] >= 10000
    assert "new_product" in sql_tables(fresh)
    assert '<EntityType Name="new_product"' in api.get("$metadata").get_data(as_text=True)
    assert {"name": "new_products", "kind": "EntitySet", "url": "new_products"} in api.values("")
    created = api.request("POST", "new_products", json={"new_name": "widget"})
    assert created.status_code == 204
    [record] = api.values("new_products?$select=new_name,statecode")
    assert record["new_name"] == "widget" and record["statecode"] == 0


def test_create_entities_as_the_released_sdk_sends_it(api):
    kinds = ["string", "memo", "int", "decimal", "double", "datetime", "bool", "picklist"]
    columns = [column(kind, f"new_{kind.capitalize()}Col", complex_=True) for kind in kinds]
    body = {"Entities": [table_body("new_Thing", *columns, complex_=True)]}
    response = api.request("POST", "CreateEntities?SolutionUniqueName=MySolution", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    [entity_id] = response.get_json()["EntityIds"]
    assert api.get(f"EntityDefinitions({entity_id})").get_json()["LogicalName"] == "new_thing"
    values = {"new_name": "n", "new_stringcol": "s", "new_memocol": "m" * 3000, "new_intcol": -5,
              "new_decimalcol": 12.34, "new_doublecol": 1.23456, "new_datetimecol": "2026-01-02T00:00:00Z",
              "new_boolcol": True, "new_picklistcol": 2}
    created = api.request("POST", "new_things", json=values, headers={"Prefer": "return=representation"})
    assert created.status_code == 201, created.get_data(as_text=True)
    [record] = api.values(f"new_things?$select={','.join(values)}",
                          headers={"Prefer": 'odata.include-annotations="*"'})
    assert {k: record[k] for k in values} == values
    assert record["new_picklistcol@OData.Community.Display.V1.FormattedValue"] == "High"
    wrong = api.request("POST", "new_things", json={"new_picklistcol": 7})
    assert wrong.status_code == 400
    types = {a["LogicalName"]: a["AttributeType"] for a in
             api.values("EntityDefinitions(LogicalName='new_thing')/Attributes?$select=LogicalName,AttributeType")}
    assert [types[f"new_{k}col"] for k in kinds] == ["String", "Memo", "Integer", "Decimal", "Double", "DateTime",
                                                    "Boolean", "Picklist"]
    [picklist] = api.values(f"EntityDefinitions(LogicalName='new_thing')/Attributes/{NS}.PicklistAttributeMetadata"
                            f"?$select=LogicalName&$expand=OptionSet($select=Options)")
    assert [o["Value"] for o in picklist["OptionSet"]["Options"]] == [1, 2]


def test_create_entities_makes_several_tables_at_once(api):
    body = {"Entities": [table_body("new_First", complex_=True), table_body("new_Second", complex_=True)]}
    response = api.request("POST", "CreateEntities", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert len(response.get_json()["EntityIds"]) == 2
    rows = api.values("EntityDefinitions?$select=LogicalName,ObjectTypeCode&$filter=LogicalName eq 'new_first' or "
                      "LogicalName eq 'new_second'")
    assert sorted(r["LogicalName"] for r in rows) == ["new_first", "new_second"]
    assert len({r["ObjectTypeCode"] for r in rows}) == 2


def test_delete_table_removes_it_everywhere(api, fresh):
    create_table(api, "new_Gone")
    assert api.request("POST", "new_gones", json={"new_name": "x"}).status_code == 204
    entity_id = api.values("EntityDefinitions?$select=MetadataId&$filter=LogicalName eq 'new_gone'")[0]["MetadataId"]
    response = api.request("DELETE", f"EntityDefinitions({entity_id})", headers={"If-Match": "*"})
    assert response.status_code == 204
    assert api.values("EntityDefinitions?$select=MetadataId&$filter=LogicalName eq 'new_gone'") == []
    assert api.get("new_gones").status_code == 404
    assert "new_gone" not in sql_tables(fresh)
    assert 'Name="new_gone"' not in api.get("$metadata").get_data(as_text=True)
    create_table(api, "new_Gone")  # the name is free again, and the new table is empty
    assert api.values("new_gones") == []


# --- columns --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind,value", [
    ("string", "text"), ("memo", "long text"), ("int", 42), ("bigint", 9007199254740993), ("decimal", 3.5),
    ("double", 0.125), ("money", 19.99), ("datetime", "2026-03-04T00:00:00Z"), ("bool", False), ("picklist", 1),
    ("multiselect", "100000000,100000001"),
])
def test_add_column_of_every_type(api, fresh, kind, value):
    create_table(api, "new_Box")
    entity_id = api.values("EntityDefinitions?$select=MetadataId&$filter=LogicalName eq 'new_box'")[0]["MetadataId"]
    response = api.request("POST", f"EntityDefinitions({entity_id})/Attributes", json=column(kind, "new_Extra"))
    assert response.status_code == 204, response.get_data(as_text=True)
    assert re.search(rf"/EntityDefinitions\({entity_id}\)/Attributes\([0-9a-f-]{{36}}\)$",
                     response.headers["OData-EntityId"])
    assert "new_extra" in sql_columns(fresh, "new_box")
    assert api.request("POST", "new_boxes", json={"new_extra": value}).status_code == 204
    [record] = api.values("new_boxes?$select=new_extra")
    assert record["new_extra"] == value
    [attr] = api.values("EntityDefinitions(LogicalName='new_box')/Attributes?$select=LogicalName,SchemaName,"
                        "IsCustomAttribute&$filter=LogicalName eq 'new_extra'")
    assert attr["SchemaName"] == "new_Extra" and attr["IsCustomAttribute"] is True


def test_add_column_to_a_shipped_table_and_delete_it(api, fresh):
    response = api.request("POST", "EntityDefinitions(LogicalName='account')/Attributes",
                           json=column("string", "new_Region"))
    assert response.status_code == 204, response.get_data(as_text=True)
    assert response.headers["OData-EntityId"].split("/EntityDefinitions")[1].startswith("(LogicalName='account')")
    assert api.request("POST", "accounts", json={"name": "A", "new_region": "North"}).status_code == 204
    assert api.values("accounts?$select=new_region&$filter=new_region eq 'North'")[0]["new_region"] == "North"
    [attr] = api.values("EntityDefinitions(LogicalName='account')/Attributes?$select=MetadataId"
                        "&$filter=LogicalName eq 'new_region'")
    deleted = api.request("DELETE", f"EntityDefinitions(LogicalName='account')/Attributes({attr['MetadataId']})",
                          headers={"If-Match": "*"})
    assert deleted.status_code == 204
    assert "new_region" not in sql_columns(fresh, "account")
    assert api.get("accounts?$select=new_region").status_code == 400
    assert api.request("POST", "accounts", json={"name": "B"}).status_code == 204


def test_adding_a_column_issues_no_table_rewrite(api, fresh):
    """ALTER TABLE ... ADD COLUMN without a default: neither SQLite nor PostgreSQL copies the rows."""
    statements: list[str] = []
    engines = {fresh.db.engine, fresh.db._write_engine}

    def note(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    for engine in engines:
        sa.event.listen(engine, "before_cursor_execute", note)
    try:
        response = api.request("POST", "EntityDefinitions(LogicalName='account')/Attributes",
                               json=column("int", "new_Score"))
    finally:
        for engine in engines:
            sa.event.remove(engine, "before_cursor_execute", note)
    assert response.status_code == 204
    ddl = [s for s in statements if re.match(r"\s*(ALTER|CREATE|DROP|INSERT|UPDATE)\b", s, re.I)
           and re.search(r"\baccount\b", s)]
    assert len(ddl) == 1 and re.match(r"ALTER TABLE \"?account\"? ADD COLUMN \"?new_score\"? INTEGER$", ddl[0])


# --- keys -----------------------------------------------------------------------------------------------------

def test_alternate_key_definitions(api, fresh):
    create_table(api, "new_Part", column("string", "new_Code"))
    response = api.request("POST", "EntityDefinitions(LogicalName='new_part')/Keys",
                           json={"SchemaName": "new_CodeKey", "KeyAttributes": ["new_code"],
                                 "DisplayName": label("Code")})
    assert response.status_code == 204, response.get_data(as_text=True)
    key_id = re.search(r"/Keys\(([0-9a-f-]{36})\)$", response.headers["OData-EntityId"]).group(1)
    [key] = api.values("EntityDefinitions(LogicalName='new_part')/Keys")
    assert key["MetadataId"] == key_id and key["KeyAttributes"] == ["new_code"]
    assert key["SchemaName"] == "new_CodeKey" and key["EntityKeyIndexStatus"] == "Active"
    [entity] = api.values("EntityDefinitions?$select=SchemaName&$filter=LogicalName eq 'new_part'"
                          "&$expand=Keys($select=KeyAttributes)")
    assert entity["Keys"] == [{"KeyAttributes": ["new_code"], "MetadataId": key_id}]
    assert fresh.db.catalog.table("new_part").keys[0].attributes == ("new_code",)
    indexes = {i["name"]: i for i in sa.inspect(fresh.db.engine).get_indexes("new_part")}
    assert indexes["ak_new_part_new_codekey"]["unique"]
    assert api.request("POST", "new_parts", json={"new_name": "a", "new_code": "C-1"}).status_code == 204
    duplicate = api.request("POST", "new_parts", json={"new_name": "b", "new_code": "C-1"})
    assert duplicate.status_code == 412
    deleted = api.request("DELETE", f"EntityDefinitions(LogicalName='new_part')/Keys({key_id})")
    assert deleted.status_code == 204 and api.values("EntityDefinitions(LogicalName='new_part')/Keys") == []
    assert api.request("POST", "new_parts", json={"new_name": "b", "new_code": "C-1"}).status_code == 204
    # a key over values that are not unique is refused, and nothing of it stays
    refused = api.request("POST", "EntityDefinitions(LogicalName='new_part')/Keys",
                          json={"SchemaName": "new_CodeKey", "KeyAttributes": ["new_code"]})
    error(refused, 400, "0x80040237")
    assert api.values("EntityDefinitions(LogicalName='new_part')/Keys") == []


# --- relationships --------------------------------------------------------------------------------------------

def test_one_to_many_relationship_with_its_lookup(api, fresh):
    create_table(api, "new_Order")
    body = {"@odata.type": f"{NS}.OneToManyRelationshipMetadata", "SchemaName": "new_account_orders",
            "ReferencedEntity": "account", "ReferencingEntity": "new_order", "ReferencedAttribute": "accountid",
            "CascadeConfiguration": {"Assign": "NoCascade", "Delete": "RemoveLink", "Merge": "NoCascade",
                                     "Reparent": "NoCascade", "Share": "NoCascade", "Unshare": "NoCascade"},
            "Lookup": {"@odata.type": f"{NS}.LookupAttributeMetadata", "SchemaName": "new_AccountId",
                       "AttributeType": "Lookup", "AttributeTypeName": {"Value": "LookupType"},
                       "DisplayName": label("Account"), "RequiredLevel": {"Value": "None"}}}
    response = api.request("POST", "RelationshipDefinitions", json=body,
                           headers={"MSCRM.SolutionUniqueName": "MySolution"})
    assert response.status_code == 204, response.get_data(as_text=True)
    rel_id = re.search(r"RelationshipDefinitions\(([0-9a-f-]{36})\)$", response.headers["OData-EntityId"]).group(1)
    [found] = api.values("RelationshipDefinitions?$filter=SchemaName eq 'new_account_orders'")
    assert found["MetadataId"] == rel_id and found["ReferencingAttribute"] == "new_accountid"
    assert found["ReferencingEntityNavigationPropertyName"] == "new_AccountId"
    [many_to_one] = api.values("EntityDefinitions(LogicalName='new_order')/ManyToOneRelationships")
    assert many_to_one["SchemaName"] == "new_account_orders"
    assert api.values("EntityDefinitions(LogicalName='account')/OneToManyRelationships?$select=SchemaName") == [
        {"SchemaName": "new_account_orders", "MetadataId": rel_id}]
    assert api.request("POST", "accounts", json={"accountid": "00000000-0000-0000-0000-0000000000a1",
                                                 "name": "Contoso"}).status_code == 204
    bound = api.request("POST", "new_orders", json={
        "new_name": "o1", "new_AccountId@odata.bind": "/accounts(00000000-0000-0000-0000-0000000000a1)"})
    assert bound.status_code == 204, bound.get_data(as_text=True)
    [order] = api.values("new_orders?$select=_new_accountid_value&$expand=new_AccountId($select=name)")
    assert order["_new_accountid_value"] == "00000000-0000-0000-0000-0000000000a1"
    assert order["new_AccountId"]["name"] == "Contoso"
    deleted = api.request("DELETE", f"RelationshipDefinitions({rel_id})", headers={"If-Match": "*"})
    assert deleted.status_code == 204
    assert "new_accountid" not in sql_columns(fresh, "new_order")
    assert api.values("RelationshipDefinitions?$filter=SchemaName eq 'new_account_orders'") == []


def test_many_to_many_relationship_makes_its_intersect_table(api, fresh):
    create_table(api, "new_Tag")
    body = {"@odata.type": f"{NS}.ManyToManyRelationshipMetadata", "SchemaName": "new_account_tags",
            "Entity1LogicalName": "account", "Entity2LogicalName": "new_tag", "IntersectEntityName": "new_account_tags"}
    response = api.request("POST", "RelationshipDefinitions", json=body)
    assert response.status_code == 204, response.get_data(as_text=True)
    assert {"accountid", "new_tagid"} <= sql_columns(fresh, "new_account_tags")
    [found] = api.values("EntityDefinitions(LogicalName='new_tag')/ManyToManyRelationships")
    assert found["IntersectEntityName"] == "new_account_tags" and found["Entity1LogicalName"] == "account"
    # deleting one of its tables takes the relationship and the intersect table with it
    assert api.request("DELETE", "EntityDefinitions(LogicalName='new_tag')").status_code == 204
    assert "new_account_tags" not in sql_tables(fresh)
    assert api.values("RelationshipDefinitions") == []


# --- bad input ------------------------------------------------------------------------------------------------

def test_bad_definitions_answer_dataverse_errors_and_change_nothing(api, fresh):
    before = sql_tables(fresh)
    error(api.request("POST", "EntityDefinitions", json=table_body("Product")), 400, "0x800608ad")
    error(api.request("POST", "EntityDefinitions", json=table_body("mscrm_Product")), 400, "0x800608ad")
    create_table(api, "new_Dup")
    message = error(api.request("POST", "EntityDefinitions", json=table_body("new_DUP")), 400, "0x80040237")
    assert "already exists" in message
    error(api.request("POST", "EntityDefinitions(LogicalName='new_dup')/Attributes",
                      json=column("string", "new_Name")), 400, "0x80040237")
    error(api.request("POST", "EntityDefinitions(LogicalName='new_dup')/Attributes",
                      json=column("string", "Unprefixed")), 400, "0x800608ad")
    error(api.request("POST", "EntityDefinitions(LogicalName='new_dup')/Attributes",
                      json={"@odata.type": f"{NS}.WidgetAttributeMetadata", "SchemaName": "new_W"}),
          400, "0x80060888")
    error(api.request("POST", "EntityDefinitions(LogicalName='new_dup')/Attributes",
                      json={"@odata.type": f"{NS}.FileAttributeMetadata", "SchemaName": "new_F"}), 501, "0x8004d101")
    error(api.request("POST", "RelationshipDefinitions", json={
        "@odata.type": f"{NS}.OneToManyRelationshipMetadata", "SchemaName": "new_nothing_dups",
        "ReferencedEntity": "new_nothing", "ReferencingEntity": "new_dup",
        "Lookup": {"SchemaName": "new_NothingId", "DisplayName": label("Nothing")}}), 400, "0x80041102")
    no_primary = table_body("new_NoPrimary")
    no_primary["Attributes"][0]["IsPrimaryName"] = False
    error(api.request("POST", "EntityDefinitions", json=no_primary), 400, "0x80060888")
    # a request with one bad entity creates none of them
    both = {"Entities": [table_body("new_Good", complex_=True), table_body("Bad", complex_=True)]}
    error(api.request("POST", "CreateEntities", json=both), 400, "0x800608ad")
    lazily_made = {"emulator_rowversion", "emulator_deletion"}  # the writer's own tables, made at its first write
    assert sql_tables(fresh) - lazily_made == before - lazily_made | {"new_dup"}
    assert api.values("EntityDefinitions?$select=LogicalName&$filter=LogicalName eq 'new_good'") == []
    error(api.request("DELETE", "EntityDefinitions(LogicalName='account')"), 400, "0x80048403")


def test_unsupported_metadata_operations_answer_fast_and_clearly(api):
    create_table(api, "new_Fixed")
    error(api.request("PUT", "EntityDefinitions(LogicalName='new_fixed')", json=table_body("new_Fixed")),
          501, "0x8004d101")
    error(api.request("PUT", "EntityDefinitions(LogicalName='new_fixed')/Attributes(LogicalName='new_name')",
                      json=column("string", "new_Name")), 501, "0x8004d101")
    error(api.request("PATCH", "EntityDefinitions(LogicalName='new_fixed')", json={}), 405, "0x80060888")
    error(api.request("PUT", "RelationshipDefinitions(00000000-0000-0000-0000-000000000001)", json={}),
          501, "0x8004d101")
    error(api.request("POST", "EntityDefinitions(LogicalName='new_fixed')/Attributes",
                      json={**column("picklist", "new_Colour"),
                            "GlobalOptionSet@odata.bind": "/GlobalOptionSetDefinitions(Name='new_colours')"}),
          501, "0x8004d101")


# --- persistence and other processes --------------------------------------------------------------------------

def test_custom_schema_survives_a_restart(api, fresh):
    create_table(api, "new_Kept", column("int", "new_Count"))
    assert api.request("POST", "EntityDefinitions(LogicalName='new_kept')/Keys",
                       json={"SchemaName": "new_CountKey", "KeyAttributes": ["new_count"]}).status_code == 204
    assert api.request("POST", "new_kepts", json={"new_name": "k", "new_count": 3}).status_code == 204
    again = Database(fresh.db.url.render_as_string(hide_password=False))
    try:
        again.create_schema()
        table = again.catalog.table("new_kept")
        assert table.entity_set == "new_kepts" and table.attribute("new_count").type == "Integer"
        assert [k.attributes for k in table.keys] == [("new_count",)]
        assert again.count("new_kept") == 1
    finally:
        again.dispose()


def test_a_second_process_sees_the_new_table(fresh, tmp_path):
    url = fresh.db.url.render_as_string(hide_password=False)
    with open(tmp_path / "a.log", "wb") as log_a, open(tmp_path / "b.log", "wb") as log_b:
        first, first_url = start_server_process(url, log_a, "--scenario", "minimal")
        second, second_url = start_server_process(url, log_b, "--scenario", "minimal")
        try:
            api_a, api_b = f"{first_url}/api/data/v9.2", f"{second_url}/api/data/v9.2"
            assert requests.get(f"{api_b}/new_shareds", timeout=10).status_code == 404
            made = requests.post(f"{api_a}/EntityDefinitions", json=table_body("new_Shared"), timeout=30)
            assert made.status_code == 204, made.text
            assert requests.post(f"{api_b}/new_shareds", json={"new_name": "from b"}, timeout=10).status_code == 204
            assert requests.get(f"{api_a}/new_shareds", timeout=10).json()["value"][0]["new_name"] == "from b"
            added = requests.post(f"{api_b}/EntityDefinitions(LogicalName='new_shared')/Attributes",
                                  json=column("int", "new_Size"), timeout=30)
            assert added.status_code == 204, added.text
            key = requests.get(f"{api_a}/new_shareds", timeout=10).json()["value"][0]["new_sharedid"]
            assert requests.patch(f"{api_a}/new_shareds({key})", json={"new_size": 4}, timeout=10).status_code == 204
            gone = requests.delete(f"{api_a}/EntityDefinitions(LogicalName='new_shared')", timeout=30)
            assert gone.status_code == 204
            assert requests.get(f"{api_b}/new_shareds", timeout=10).status_code == 404
        finally:
            for process in (first, second):
                process.terminate()
                process.wait(timeout=30)
