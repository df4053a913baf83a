"""Discovery: the service document, $metadata (CSDL XML, also read by python-odata's reflection),
EntityDefinitions as the real clients query it, option-set metadata, and WhoAmI."""
from __future__ import annotations

import pytest
import requests
from defusedxml import ElementTree as SafeET

from emulator import metadata
from emulator.metadata import model as m
from emulator.store.seed import ADMIN_USER_ID

from .conftest import API, AUTH

EDMX = "{http://docs.oasis-open.org/odata/ns/edmx}"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
LIVEWORKITEM = metadata.table("msdyn_ocliveworkitem")


def test_service_document_lists_every_entity_set(client):
    response = client.get("")
    assert response.status_code == 200
    assert response.content_type.startswith("application/json")
    body = response.get_json()
    assert body["@odata.context"] == f"http://localhost{API}/$metadata"
    assert body["value"] == [{"name": t.entity_set, "kind": "EntitySet", "url": t.entity_set} for t in metadata.SHIPPED.tables]


def _metadata(client):
    response = client.get("$metadata")
    assert response.status_code == 200
    assert response.content_type.startswith("application/xml")
    assert response.headers["OData-Version"] == "4.0"
    return SafeET.fromstring(response.get_data())  # raises on XML that is not well-formed


def test_metadata_is_edmx_4_with_the_dataverse_schema(client):
    root = _metadata(client)
    assert root.tag == f"{EDMX}Edmx" and root.get("Version") == "4.0"
    includes = {i.get("Namespace") for i in root.iter(f"{EDMX}Include")}
    assert {"OData.Community.Keys.V1", "OData.Community.Display.V1"} <= includes
    schemas = root.findall(f"{EDMX}DataServices/{EDM}Schema")
    assert [(s.get("Namespace"), s.get("Alias")) for s in schemas] == [("Microsoft.Dynamics.CRM", "mscrm")]


def test_metadata_declares_every_table_column_key_and_navigation(client):
    schema = _metadata(client).find(f"{EDMX}DataServices/{EDM}Schema")
    types = {e.get("Name"): e for e in schema.findall(f"{EDM}EntityType")}
    assert set(types) == {t.logical_name for t in metadata.SHIPPED.tables} | {"crmbaseentity"}
    for table in metadata.SHIPPED.tables:
        entity = types[table.logical_name]
        assert [r.get("Name") for r in entity.findall(f"{EDM}Key/{EDM}PropertyRef")] == [table.primary_id]
        properties = {p.get("Name"): p.get("Type") for p in entity.findall(f"{EDM}Property")}
        assert properties == {a.property_name: a.edm_type for a in table.attributes}, table.logical_name
        navigations = {n.get("Name"): n for n in entity.findall(f"{EDM}NavigationProperty")}
        expected = {nav: (a, target) for a in table.lookups for target, nav in a.navigation}
        assert set(navigations) == set(expected), table.logical_name
        for name, (attr, target) in expected.items():
            targets = {t for t, n in attr.navigation if n == name}
            if len(targets) == 1:
                assert navigations[name].get("Type") == f"mscrm.{target}"
                constraint = navigations[name].find(f"{EDM}ReferentialConstraint")
                assert constraint.get("Property") == attr.property_name
                assert constraint.get("ReferencedProperty") == metadata.table(target).primary_id
    assert properties_of(types, "msdyn_ocliveworkitem")["_msdyn_activeagentid_value"] == "Edm.Guid"
    assert properties_of(types, "msdyn_ocliveworkitem")["createdon"] == "Edm.DateTimeOffset"


def properties_of(types, name):
    return {p.get("Name"): p.get("Type") for p in types[name].findall(f"{EDM}Property")}


def test_metadata_container_sets_bindings_and_whoami(client):
    schema = _metadata(client).find(f"{EDMX}DataServices/{EDM}Schema")
    container = schema.find(f"{EDM}EntityContainer")
    assert container.get("Name") == "System"
    sets = {s.get("Name"): s for s in container.findall(f"{EDM}EntitySet")}
    assert {name: s.get("EntityType") for name, s in sets.items()} == {
        t.entity_set: f"Microsoft.Dynamics.CRM.{t.logical_name}" for t in metadata.SHIPPED.tables}
    bindings = {b.get("Path"): b.get("Target") for b in sets["msdyn_ocliveworkitems"]}
    assert bindings["msdyn_activeagentid_msdyn_ocliveworkitem"] == "systemusers"
    assert bindings["msdyn_customer_msdyn_ocliveworkitem_account"] == "accounts"
    assert bindings["msdyn_customer_msdyn_ocliveworkitem_contact"] == "contacts"
    function = schema.find(f"{EDM}Function[@Name='WhoAmI']")
    assert function.find(f"{EDM}ReturnType").get("Type") == "mscrm.WhoAmIResponse"
    response = schema.find(f"{EDM}ComplexType[@Name='WhoAmIResponse']")
    assert {p.get("Name"): p.get("Type") for p in response} == {
        "BusinessUnitId": "Edm.Guid", "UserId": "Edm.Guid", "OrganizationId": "Edm.Guid"}
    assert container.find(f"{EDM}FunctionImport").get("Function") == "Microsoft.Dynamics.CRM.WhoAmI"


def test_metadata_with_a_trailing_segment_is_not_found(client):
    response = client.get("$metadata/foo")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "0x8006088a"


def test_python_odata_reflects_the_metadata_and_reads_the_same_records(live, client):
    from odata import ODataService

    session = requests.Session()
    session.headers.update(AUTH)
    service = ODataService(f"{live.url}{API}/", reflect_entities=True, session=session, quiet_progress=True)
    assert set(service.entities) == {t.entity_set for t in metadata.SHIPPED.tables}
    Conversation = service.entities["msdyn_ocliveworkitems"]
    rows = list(service.query(Conversation).filter(Conversation.statecode == 0)
                .order_by(Conversation.createdon.desc()).limit(7))
    direct = client.values("msdyn_ocliveworkitems?$select=activityid&$filter=statecode eq 0"
                           "&$orderby=createdon desc&$top=7")
    assert [r.activityid for r in rows] == [d["activityid"] for d in direct]
    assert service.query(Conversation).count() == 500
    assert "WhoAmI" in service.functions


# --- EntityDefinitions ---------------------------------------------------------------------------------------

def test_entity_definitions_exactly_as_the_python_sdk_asks(client):
    # requests encodes `$` and `,` and sends spaces as `+`: the raw query string the SDK puts on the wire
    raw = ("%24select=LogicalName%2CEntitySetName%2CPrimaryIdAttribute"
           "&%24filter=LogicalName+eq+%27msdyn_ocliveworkitem%27")
    response = client.get(f"{API}/EntityDefinitions?{raw}")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["@odata.context"] == (f"http://localhost{API}/$metadata#EntityDefinitions"
                                      "(LogicalName,EntitySetName,PrimaryIdAttribute)")
    [entity] = body["value"]
    assert set(entity) == {"LogicalName", "EntitySetName", "PrimaryIdAttribute", "MetadataId"}
    assert (entity["LogicalName"], entity["EntitySetName"], entity["PrimaryIdAttribute"]) == (
        "msdyn_ocliveworkitem", "msdyn_ocliveworkitems", "activityid")


def test_entity_definitions_without_filter_lists_every_table(client):
    value = client.values("EntityDefinitions?$select=EntitySetName,LogicalName")
    assert {(v["LogicalName"], v["EntitySetName"]) for v in value} == {
        (t.logical_name, t.entity_set) for t in metadata.SHIPPED.tables}


def test_entity_definitions_filters(client):
    assert client.values("EntityDefinitions?$select=LogicalName&$filter=LogicalName eq 'nosuchtable'") == []
    names = {v["LogicalName"] for v in client.values("EntityDefinitions?$select=LogicalName"
                                                     "&$filter=IsActivity eq true")}
    assert names == {t.logical_name for t in metadata.SHIPPED.tables if t.is_activity}
    names = {v["LogicalName"] for v in client.values(
        "EntityDefinitions?$select=LogicalName&$filter=LogicalName eq 'account' or EntitySetName eq 'teams'")}
    assert names == {"account", "team"}
    names = {v["LogicalName"] for v in client.values(
        "EntityDefinitions?$select=LogicalName&$filter=OwnershipType eq "
        "Microsoft.Dynamics.CRM.OwnershipTypes'BusinessOwned'")}
    assert names == {t.logical_name for t in metadata.SHIPPED.tables if t.ownership == "BusinessOwned"}


def test_entity_definition_by_logical_name_and_by_metadata_id(client):
    response = client.get("EntityDefinitions(LogicalName='msdyn_ocliveworkitem')")
    assert response.status_code == 200
    entity = response.get_json()
    assert entity["@odata.context"] == f"http://localhost{API}/$metadata#EntityDefinitions/$entity"
    assert entity["EntitySetName"] == "msdyn_ocliveworkitems"
    assert entity["PrimaryIdAttribute"] == "activityid"
    assert entity["PrimaryNameAttribute"] == "subject"
    assert entity["SchemaName"] == "msdyn_ocliveworkitem"
    assert entity["IsActivity"] is True
    assert entity["OwnershipType"] == "UserOwned"
    assert entity["DisplayName"]["UserLocalizedLabel"]["Label"] == "Conversation"
    assert entity["DisplayName"]["LocalizedLabels"][0]["LanguageCode"] == 1033
    assert entity["DisplayCollectionName"]["UserLocalizedLabel"]["Label"] == "Conversations"
    by_id = client.get(f"EntityDefinitions({entity['MetadataId']})?$select=LogicalName").get_json()
    assert by_id["LogicalName"] == "msdyn_ocliveworkitem" and by_id["MetadataId"] == entity["MetadataId"]
    # stable: the same id on every call
    again = client.get("EntityDefinitions(LogicalName='msdyn_ocliveworkitem')?$select=LogicalName").get_json()
    assert again["MetadataId"] == entity["MetadataId"]


def test_entity_definition_errors(client):
    response = client.get("EntityDefinitions(LogicalName='nosuchtable')")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "0x80041102"
    assert "nosuchtable" in response.get_json()["error"]["message"]
    response = client.get("EntityDefinitions?$select=LogicalName,Nope")
    assert response.status_code == 400
    assert response.get_json()["error"] == {
        "code": "0x0", "message": "Could not find a property named 'Nope' on type "
                                  "'Microsoft.Dynamics.CRM.EntityMetadata'."}
    assert client.get("EntityDefinitions?$filter=Nope eq 'x'").status_code == 400
    assert client.get("EntityDefinitions?$top=1").status_code == 400
    assert client.get("EntityDefinitions(LogicalName='account')/Nope").status_code == 404


def test_attributes_of_a_table(client):
    response = client.get("EntityDefinitions(LogicalName='msdyn_ocliveworkitem')/Attributes")
    assert response.status_code == 200
    value = response.get_json()["value"]
    assert [a["LogicalName"] for a in value] == [a.logical_name for a in LIVEWORKITEM.attributes]
    by_name = {a["LogicalName"]: a for a in value}
    assert by_name["msdyn_activeagentid"]["@odata.type"] == "#Microsoft.Dynamics.CRM.LookupAttributeMetadata"
    assert by_name["msdyn_activeagentid"]["Targets"] == ["systemuser"]
    assert by_name["msdyn_customer"]["Targets"] == ["account", "contact"]
    assert by_name["msdyn_title"]["MaxLength"] == 4000
    assert by_name["activityid"]["IsPrimaryId"] is True
    assert by_name["subject"]["IsPrimaryName"] is True
    assert by_name["statuscode"]["AttributeType"] == "Status"
    one = client.get("EntityDefinitions(LogicalName='msdyn_ocliveworkitem')/Attributes(LogicalName='subject')"
                     "?$select=LogicalName,AttributeType").get_json()
    assert (one["LogicalName"], one["AttributeType"]) == ("subject", "String")
    lookups = client.values("EntityDefinitions(LogicalName='msdyn_ocliveworkitem')/Attributes"
                            "?$select=LogicalName&$filter=AttributeType eq "
                            "Microsoft.Dynamics.CRM.AttributeTypeCode'Lookup'")
    assert {a["LogicalName"] for a in lookups} == {a.logical_name for a in LIVEWORKITEM.attributes
                                                   if a.type == m.LOOKUP}


def _options(client, table: str, cast: str) -> dict[str, dict]:
    response = client.get(f"EntityDefinitions(LogicalName='{table}')/Attributes/Microsoft.Dynamics.CRM.{cast}"
                          "?$select=LogicalName&$expand=OptionSet($select=Options)")
    assert response.status_code == 200, response.get_data(as_text=True)
    return {a["LogicalName"]: a for a in response.get_json()["value"]}


def _expected(table: str, *types: str) -> dict[str, list[tuple[int, str]]]:
    return {a.logical_name: [(o.value, o.label) for o in a.option_set.options]
            for a in metadata.table(table).attributes if a.type in types}


def _actual(items: dict[str, dict]) -> dict[str, list[tuple[int, str]]]:
    return {name: [(o["Value"], o["Label"]["UserLocalizedLabel"]["Label"]) for o in a["OptionSet"]["Options"]]
            for name, a in items.items()}


def test_picklist_metadata_exactly_as_the_python_sdk_asks(client):
    items = _options(client, "msdyn_ocliveworkitem", "PicklistAttributeMetadata")
    assert _actual(items) == _expected("msdyn_ocliveworkitem", m.PICKLIST)
    assert {"msdyn_statuschangereason", "prioritycode"} <= set(items)
    assert set(items["prioritycode"]) == {"LogicalName", "MetadataId", "OptionSet"}
    option = items["prioritycode"]["OptionSet"]["Options"][0]
    assert option["Label"]["LocalizedLabels"] == [option["Label"]["UserLocalizedLabel"]]
    assert set(items["prioritycode"]["OptionSet"]) == {"Options", "MetadataId"}


def test_multiselect_status_and_state_metadata(client):
    multi = _options(client, "msdyn_ocliveworkitem", "MultiSelectPicklistAttributeMetadata")
    assert _actual(multi) == _expected("msdyn_ocliveworkitem", m.MULTISELECT)
    assert (192360000, "Live chat") in _actual(multi)["msdyn_channel"]
    status = _options(client, "msdyn_ocliveworkitem", "StatusAttributeMetadata")
    assert _actual(status) == _expected("msdyn_ocliveworkitem", m.STATUS)
    assert {o["Value"]: o["State"] for o in status["statuscode"]["OptionSet"]["Options"]} == {
        1: 0, 2: 0, 3: 0, 4: 1, 5: 0, 6: 2, 7: 3}
    state = _options(client, "msdyn_ocliveworkitem", "StateAttributeMetadata")
    assert _actual(state) == _expected("msdyn_ocliveworkitem", m.STATE)
    assert {o["Value"]: o["DefaultStatus"] for o in state["statecode"]["OptionSet"]["Options"]} == {
        0: 1, 1: 4, 2: 6, 3: 7, 4: 5}
    # another table's local state model
    assert _actual(_options(client, "account", "StateAttributeMetadata")) == _expected("account", m.STATE)


def test_global_option_set_expand(client):
    value = client.values("EntityDefinitions(LogicalName='msdyn_liveworkstream')/Attributes/"
                          "Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName"
                          "&$expand=GlobalOptionSet($select=Name,Options)")
    by_name = {v["LogicalName"]: v for v in value}
    assert by_name["msdyn_streamsource"]["GlobalOptionSet"]["Name"] == "msdyn_streamsource"
    assert len(by_name["msdyn_streamsource"]["GlobalOptionSet"]["Options"]) == 17


def test_unknown_cast_is_not_found(client):
    response = client.get("EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM.Nope")
    assert response.status_code == 404


# --- WhoAmI --------------------------------------------------------------------------------------------------

def test_whoami_reports_the_caller_with_stable_ids(client, seeded):
    first = client.get("WhoAmI")
    second = client.get("WhoAmI()")
    assert first.status_code == second.status_code == 200
    body = first.get_json()
    assert body == second.get_json()
    assert body["@odata.context"] == f"http://localhost{API}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse"
    assert body["UserId"] == seeded.caller_id == ADMIN_USER_ID
    assert set(body) == {"@odata.context", "BusinessUnitId", "UserId", "OrganizationId"}
    assert len({body["BusinessUnitId"], body["OrganizationId"], body["UserId"]}) == 3
    # the caller is a systemuser of the data set
    assert client.get(f"systemusers({body['UserId']})?$select=fullname").status_code == 200


def test_post_whoami_is_not_found_like_dataverse(client):
    response = client.request("POST", "WhoAmI", json={})
    assert response.status_code == 404
    assert response.get_json()["error"] == {
        "code": "", "message": f"No HTTP resource was found that matches the request URI "
                               f"'http://localhost{API}/WhoAmI'."}


def test_whoami_with_a_trailing_segment_is_not_found(client):
    assert client.get("WhoAmI()/UserId").status_code == 404


def test_attribute_filter_on_a_property_only_some_columns_have(client):
    long_texts = client.values("EntityDefinitions(LogicalName='msdyn_ocliveworkitem')/Attributes"
                               "?$select=LogicalName&$filter=MaxLength ge 2000")
    assert {a["LogicalName"] for a in long_texts} == {a.logical_name for a in LIVEWORKITEM.attributes
                                                      if (a.max_length or 0) >= 2000}
    assert client.get("EntityDefinitions?$select=LogicalName,").status_code == 400


# --- EntityDefinitions query options: odata/'s parser over the metadata -------------------------------------

def _names(client, query: str) -> set[str]:
    return {v["LogicalName"] for v in client.values(f"EntityDefinitions?$select=LogicalName&{query}")}


@pytest.mark.parametrize("query, expected", [
    # quoted commas, parentheses and semicolons are text, not separators
    ("$filter=LogicalName eq 'it''s, (odd); no' or LogicalName eq 'team'", {"team"}),
    ("$filter=LogicalName in ('a,b', 'account')", {"account"}),
    ("$filter=LogicalName eq 'Microsoft.Dynamics.CRM.OwnershipTypes''UserOwned'''", set()),
    # the Web API's syntax: a one-item list, a JSON array, parameter aliases
    ("$filter=LogicalName in ('account')", {"account"}),
    ("$filter=LogicalName in [\"account\",\"team\"]", {"account", "team"}),
    ("$filter=LogicalName eq @p1&@p1='team'", {"team"}),
    ("$filter=OwnershipType eq @kind&@kind=Microsoft.Dynamics.CRM.OwnershipTypes'BusinessOwned'",
     {t.logical_name for t in metadata.SHIPPED.tables if t.ownership == "BusinessOwned"}),
    ("$filter=not (IsActivity eq true) and LogicalName ne 'team'",
     {t.logical_name for t in metadata.SHIPPED.tables if not t.is_activity} - {"team"}),
    ("$filter=DisplayName/UserLocalizedLabel/Label eq 'Conversation'", {"msdyn_ocliveworkitem"}),
])
def test_entity_definitions_filter_syntax(client, query, expected):
    assert _names(client, query) == expected


def test_expand_options_keep_quoted_separators(client):
    [account] = client.values("EntityDefinitions?$select=LogicalName&$filter=LogicalName eq 'account'"
                              "&$expand=Attributes($select=LogicalName;$filter=LogicalName eq 'a);b,c' or "
                              "LogicalName eq 'name')")
    assert [a["LogicalName"] for a in account["Attributes"]] == ["name"]
    assert set(account["Attributes"][0]) == {"@odata.type", "LogicalName", "MetadataId"}


def test_a_cast_without_columns_of_its_type_is_empty(client):
    # the Python SDK asks this before writing a string to any table, this one included (no choice column)
    assert client.values("EntityDefinitions(LogicalName='msdyn_omnichannelqueue')/Attributes/"
                         "Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName"
                         "&$expand=OptionSet($select=Options)") == []


@pytest.mark.parametrize("path, named", [
    ("EntityDefinitions?$filter=contains(LogicalName,'acc')", "contains"),
    ("EntityDefinitions?$filter=Microsoft.Dynamics.CRM.In(PropertyName='LogicalName',PropertyValues=['account'])",
     "Microsoft.Dynamics.CRM.In"),
    ("EntityDefinitions?$filter=IsActivity eq 1", "True"),
    ("EntityDefinitions(LogicalName='account')/Attributes?$filter=MaxLength add 1 gt 100", "'add'"),
    ("EntityDefinitions(LogicalName='account')/Attributes?$filter=-MaxLength lt 100", "unary minus"),
    ("EntityDefinitions?$filter=not LogicalName eq 'account'", "'not' applied to a value"),
    ("EntityDefinitions?$filter=Attributes eq null", "Attributes"),
    ("EntityDefinitions?$expand=Attributes($top=1)", "$top"),
    ("EntityDefinitions?filter=LogicalName eq 'account'", "'$filter'"),
    ("EntityDefinitions?$expand=Attributes($select=LogicalName;x=1)", "x=1"),
    ("EntityDefinitions?$expand=Attributes,Attributes", "more than once"),
    ("EntityDefinitions(LogicalName='account')/Attributes?$expand=OptionSet($filter=Name eq 'x')", "$filter"),
    ("EntityDefinitions(LogicalName='account')/Attributes?$filter=OptionSet/Name eq 'x'", "OptionSet"),
    ("EntityDefinitions(LogicalName='account')/Attributes(LogicalName='name')?$filter=LogicalName eq 'x'",
     "one attribute"),
    ("EntityDefinitions?$filter=" + "not (" * 120 + "IsActivity" + ")" * 120, "levels deep"),
])
def test_unsupported_metadata_queries_are_refused_by_name(client, path, named):
    response = client.get(path)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert named in response.get_json()["error"]["message"]


def test_unknown_names_are_refused_even_when_nothing_would_match(client):
    response = client.get("EntityDefinitions(LogicalName='systemuser')/Attributes/"
                          "Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$filter=Nope eq 1")
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == (
        "Could not find a property named 'Nope' on type 'Microsoft.Dynamics.CRM.PicklistAttributeMetadata'.")


def test_every_metadata_property_can_be_selected_under_its_cast(client):
    for table in metadata.SHIPPED.tables:
        for item in client.values(f"EntityDefinitions(LogicalName='{table.logical_name}')/Attributes"
                                  "?$expand=OptionSet,GlobalOptionSet"):
            cast = item["@odata.type"].lstrip("#")
            names = ",".join(name for name in item if name not in ("@odata.type", "OptionSet", "GlobalOptionSet"))
            response = client.get(f"EntityDefinitions(LogicalName='{table.logical_name}')/Attributes"
                                  f"(LogicalName='{item['LogicalName']}')/{cast}?$select={names}")
            assert response.status_code == 200, response.get_data(as_text=True)
            for nav in ("OptionSet", "GlobalOptionSet"):
                if item[nav] is not None:
                    path = (f"EntityDefinitions(LogicalName='{table.logical_name}')/Attributes"
                            f"(LogicalName='{item['LogicalName']}')?$expand={nav}($select={','.join(item[nav])})")
                    assert client.get(path).status_code == 200, path
