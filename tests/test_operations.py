"""Dataverse functions and actions over real HTTP (a live server on SQLite, and PostgreSQL when configured): the
calls of Microsoft's FunctionsAndActions sample, their parameters (aliases and inline), results and errors, the
named 501 of known operations the emulator does not emulate, and their signatures in $metadata."""
from __future__ import annotations

import uuid

import orjson
import pytest
import requests
from defusedxml import ElementTree as SafeET

from emulator.app import create_app

from .conftest import API, AUTH, LiveServer

EDMX = "{http://docs.oasis-open.org/odata/ns/edmx}"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


@pytest.fixture
def server(emulator):
    live = LiveServer(create_app(emulator))
    yield live
    live.stop()


class Api:
    def __init__(self, live: LiveServer) -> None:
        self.root = f"{live.url}{API}/"

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.root + path, headers=AUTH, timeout=30, **kwargs)

    def post(self, path: str, body=None, **kwargs) -> requests.Response:
        return requests.post(self.root + path, json=body, headers=AUTH, timeout=30, **kwargs)

    def create(self, entity_set: str, body: dict) -> str:
        response = self.post(entity_set, body)
        assert response.status_code == 204, response.text
        return response.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")


@pytest.fixture
def api(server) -> Api:
    return Api(server)


def _error(response: requests.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    return error["message"]


# --- RetrieveCurrentOrganization / RetrieveVersion -----------------------------------------------------------------

def test_retrieve_current_organization_with_an_alias_and_an_enum_literal(api):
    response = api.get("RetrieveCurrentOrganization(AccessType=@p1)",
                       params={"@p1": "Microsoft.Dynamics.CRM.EndpointAccessType'Default'"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"].endswith("$metadata#Microsoft.Dynamics.CRM.RetrieveCurrentOrganizationResponse")
    detail = body["Detail"]
    who = api.get("WhoAmI").json()
    assert detail["OrganizationId"] == who["OrganizationId"]
    assert detail["State"] == "Enabled" and detail["UrlName"] == "127"
    endpoints = detail["Endpoints"]
    assert endpoints["Count"] == 3 and endpoints["Keys"] == ["WebApplication", "OrganizationService",
                                                             "OrganizationDataService"]
    assert endpoints["Values"][0] == api.root.split("api/data")[0]


def test_retrieve_current_organization_with_the_forms_clients_write(api):
    for path in ("RetrieveCurrentOrganization(AccessType='Default')",
                 "RetrieveCurrentOrganization(AccessType=Microsoft.Dynamics.CRM.EndpointAccessType'Internet')",
                 "RetrieveCurrentOrganization(AccessType=@p)?@p=Microsoft.Dynamics.CRM.EndpointAccessType'Default'"):
        response = api.get(path)
        assert response.status_code == 200, (path, response.text)
        assert response.json()["Detail"]["EnvironmentId"]


def test_retrieve_current_organization_parameter_errors(api):
    message = _error(api.get("RetrieveCurrentOrganization()"), 400, "0x80040203")
    assert message == "Required field 'AccessType' is missing for RequestName='RetrieveCurrentOrganization'"
    message = _error(api.get("RetrieveCurrentOrganization(AccessType=@p1)",
                             params={"@p1": "Microsoft.Dynamics.CRM.EndpointAccessType'Nowhere'"}), 400,
                     "0x80060888")
    assert "'Nowhere'" in message and "EndpointAccessType" in message
    message = _error(api.get("RetrieveCurrentOrganization(AccessType=@p1)"), 400, "0x80060888")
    assert "@p1" in message and "not in scope" in message
    message = _error(api.get("RetrieveCurrentOrganization(AccessType=@p1,Extra=1)",
                             params={"@p1": "'Default'"}), 400, "0x80060888")
    assert "'Extra' is not a parameter" in message


def test_retrieve_version(api):
    response = api.get("RetrieveVersion()")
    assert response.status_code == 200 and response.json()["Version"].startswith("9.2.")


# --- RetrieveTotalRecordCount ------------------------------------------------------------------------------------------

def test_retrieve_total_record_count_counts_the_rows(api, emulator):
    api.create("accounts", {"name": "Counted"})
    expected = [emulator.db.count("account"), emulator.db.count("contact")]
    assert expected[0] >= 1
    for path, params in (("RetrieveTotalRecordCount(EntityNames=@p1)", {"@p1": '["account","contact"]'}),
                         ("RetrieveTotalRecordCount(EntityNames=['account','contact'])", None),
                         ("RetrieveTotalRecordCount(EntityNames=['account', 'contact'])", None),
                         ("RetrieveTotalRecordCount(EntityNames=@p1)", {"@p1": "['account','contact']"})):
        response = api.get(path, params=params)
        assert response.status_code == 200, response.text
        collection = response.json()["EntityRecordCountCollection"]
        assert collection == {"Count": 2, "IsReadOnly": False, "Keys": ["account", "contact"], "Values": expected}


def test_retrieve_total_record_count_errors(api):
    message = _error(api.get("RetrieveTotalRecordCount(EntityNames=@p1)", params={"@p1": '["nosuchtable"]'}), 404,
                     "0x80041102")
    assert "'nosuchtable'" in message and "MetadataCache" in message
    message = _error(api.get("RetrieveTotalRecordCount(EntityNames=@p1)", params={"@p1": "'account'"}), 400,
                     "0x80060888")
    assert "Collection(Edm.String)" in message
    _error(api.get("RetrieveTotalRecordCount"), 400, "0x80040203")
    # a function is called with GET: POST finds no HTTP resource, as Dataverse answers for WhoAmI
    assert api.post("RetrieveTotalRecordCount(EntityNames=['account'])").status_code == 404


# --- FormatAddress ----------------------------------------------------------------------------------------------------

def _format(api, line1, city, state, postal, country):
    return api.get("FormatAddress(Line1=@p1,City=@p2,StateOrProvince=@p3,PostalCode=@p4,Country=@p5)",
                   params={"@p1": f"'{line1}'", "@p2": f"'{city}'", "@p3": f"'{state}'", "@p4": f"'{postal}'",
                           "@p5": f"'{country}'"})


def test_format_address_us_and_japan(api):
    response = _format(api, "123 Maple St.", "Seattle", "WA", "98007", "USA")
    assert response.status_code == 200, response.text
    assert response.json()["Address"] == "123 Maple St.\r\nSeattle, WA 98007\r\nUSA"
    response = _format(api, "1-2-3 Sakura", "Nagoya", "Aichi", "455-2345", "JAPAN")
    assert response.json()["Address"] == "455-2345\r\nAichi\r\nNagoya\r\n1-2-3 Sakura\r\nJAPAN"
    # a quote inside a string literal is doubled
    response = _format(api, "1 O''Connell St", "Dublin", "", "D01", "Ireland")
    assert response.json()["Address"] == "1 O'Connell St\r\nDublin, D01\r\nIreland"


def test_format_address_errors(api):
    response = api.get("FormatAddress(Line1=@p1,City=@p2)", params={"@p1": "'x'", "@p2": "'y'"})
    assert _error(response, 400, "0x80040203") == ("Required field 'StateOrProvince' is missing for "
                                                   "RequestName='FormatAddress'")
    response = _format(api, "x", "y", "z", "1", "USA")
    bad = api.get("FormatAddress(Line1=12,City='a',StateOrProvince='b',PostalCode='c',Country='d')")
    assert response.status_code == 200
    assert "Edm.String" in _error(bad, 400, "0x80060888")


# --- GetTimeZoneCodeByLocalizedName -----------------------------------------------------------------------------------

def test_time_zone_code_by_localized_name(api):
    for name, code in (("Pacific Standard Time", 4), ("Pacific Daylight Time", 4), ("GMT Standard Time", 85),
                       ("Coordinated Universal Time", 92), ("tokyo standard time", 235)):
        response = api.get("GetTimeZoneCodeByLocalizedName(LocalizedStandardName=@p1,LocaleId=@p2)",
                           params={"@p1": f"'{name}'", "@p2": "1033"})
        assert response.status_code == 200, response.text
        assert response.json()["TimeZoneCode"] == code
    message = _error(api.get("GetTimeZoneCodeByLocalizedName(LocalizedStandardName='Mars Time',LocaleId=1033)"),
                     400, "0x80040203")
    assert "'Mars Time'" in message
    _error(api.get("GetTimeZoneCodeByLocalizedName(LocalizedStandardName='UTC',LocaleId='1033')"), 400,
           "0x80060888")


# --- InitializeFrom --------------------------------------------------------------------------------------------------

def test_initialize_from_maps_the_columns_and_the_new_record_can_be_created(api):
    source = api.create("accounts", {"name": "Contoso Consulting", "telephone1": "(425) 555-1234",
                                     "address1_city": "Redmond", "emailaddress1": "info@contoso.com"})
    response = api.get("InitializeFrom(EntityMoniker=@p1,TargetEntityName=@p2,TargetFieldType=@p3)",
                       params={"@p1": f'{{"@odata.id":"accounts({source})"}}', "@p2": "'account'",
                               "@p3": "Microsoft.Dynamics.CRM.TargetFieldType'ValidForCreate'"})
    assert response.status_code == 200, response.text
    record = response.json()
    assert record["@odata.context"].endswith("$metadata#accounts/$entity")
    assert record["@odata.type"] == "#Microsoft.Dynamics.CRM.account"
    assert record["name"] == "Contoso Consulting" and record["address1_city"] == "Redmond"
    for system in ("accountid", "createdon", "statecode", "ownerid", "versionnumber", "@odata.etag"):
        assert system not in record
    record["name"] = "Contoso Consulting Chicago Branch"
    record.pop("@odata.context")
    record.pop("@odata.type")
    new = api.create("accounts", record)
    copy = api.get(f"accounts({new})?$select=name,telephone1").json()
    assert copy["name"] == "Contoso Consulting Chicago Branch" and copy["telephone1"] == "(425) 555-1234"


def test_initialize_from_with_a_single_quoted_moniker_as_the_sample_sends_it(api):
    source = api.create("accounts", {"name": "Fabrikam"})
    response = api.get("InitializeFrom(EntityMoniker=@p1,TargetEntityName=@p2,TargetFieldType=@p3)",
                       params={"@p1": f"{{'@odata.id':'accounts({source})'}}", "@p2": "'account'",
                               "@p3": "Microsoft.Dynamics.CRM.TargetFieldType'ValidForCreate'"})
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Fabrikam"


def test_initialize_from_binds_the_parental_lookup(api):
    account = api.create("accounts", {"name": "Parent", "telephone1": "555"})
    response = api.get("InitializeFrom(EntityMoniker=@p1,TargetEntityName=@p2,TargetFieldType=@p3)",
                       params={"@p1": f'{{"@odata.id":"accounts({account})"}}', "@p2": "'contact'",
                               "@p3": "Microsoft.Dynamics.CRM.TargetFieldType'All'"})
    assert response.status_code == 200, response.text
    record = response.json()
    binds = {k: v for k, v in record.items() if k.endswith("@odata.bind")}
    assert binds and all(v == f"accounts({account})" for v in binds.values())
    skipped = api.get("InitializeFrom(EntityMoniker=@p1,TargetEntityName=@p2,TargetFieldType=@p3,"
                      "SkipParentalRelationshipMapping=true)",
                      params={"@p1": f'{{"@odata.id":"accounts({account})"}}', "@p2": "'contact'",
                              "@p3": "Microsoft.Dynamics.CRM.TargetFieldType'All'"}).json()
    assert not any(k.endswith("@odata.bind") for k in skipped)


def test_initialize_from_errors(api):
    missing = str(uuid.uuid4())
    params = {"@p1": f'{{"@odata.id":"accounts({missing})"}}', "@p2": "'account'", "@p3": "'ValidForCreate'"}
    path = "InitializeFrom(EntityMoniker=@p1,TargetEntityName=@p2,TargetFieldType=@p3)"
    assert _error(api.get(path, params=params), 404, "0x80040217") == f"account With Id = {missing} Does Not Exist"
    _error(api.get(path, params={**params, "@p2": "'nosuch'"}), 404, "0x80041102")
    _error(api.get(path, params={**params, "@p1": "'accounts'"}), 400, "0x80060888")
    _error(api.get(path, params={**params, "@p1": '{"@odata.id":"nosuch(1)"}'}), 400, "0x80060888")


# --- CloseIncident ---------------------------------------------------------------------------------------------------

def test_close_incident_resolves_the_case(api):
    case = api.create("incidents", {"title": "Printer on fire"})
    response = api.post("CloseIncident", {"IncidentResolution": {"subject": "Put out",
                                                                 "incidentid@odata.bind": f"/incidents({case})"},
                                          "Status": -1})
    assert response.status_code == 204, response.text
    row = api.get(f"incidents({case})?$select=statecode,statuscode").json()
    assert row["statecode"] == 1 and row["statuscode"] == 5  # Resolved, and its default status Problem Solved
    again = api.post("CloseIncident", {"IncidentResolution": {"incidentid@odata.bind": f"/incidents({case})"},
                                       "Status": -1})
    assert "not active" in _error(again, 400, "0x80040203")


def test_close_incident_errors(api):
    case = api.create("incidents", {"title": "Case"})
    body = {"IncidentResolution": {"incidentid@odata.bind": f"/incidents({case})"}, "Status": 1}
    assert "not a valid status code" in _error(api.post("CloseIncident", body), 400, "0x80048408")
    _error(api.post("CloseIncident", {"Status": 5}), 400, "0x80040203")
    _error(api.post("CloseIncident", {"IncidentResolution": {"subject": "x"}, "Status": 5}), 400, "0x80040203")
    _error(api.post("CloseIncident", {"IncidentResolution": {"incidentid@odata.bind": f"/incidents({case})"},
                                      "Status": "5"}), 400, "0x80060888")
    missing = str(uuid.uuid4())
    _error(api.post("CloseIncident", {"IncidentResolution": {"incidentid@odata.bind": f"/incidents({missing})"},
                                      "Status": -1}), 404, "0x80040217")
    # the case is unchanged by the refused calls
    assert api.get(f"incidents({case})?$select=statecode").json()["statecode"] == 0


def test_set_state_through_patch(api):
    case = api.create("incidents", {"title": "Case"})
    response = requests.patch(f"{api.root}incidents({case})", json={"statecode": 1, "statuscode": 5}, headers=AUTH,
                              timeout=30)
    assert response.status_code == 204
    assert api.get(f"incidents({case})?$select=statecode").json()["statecode"] == 1


# --- unknown and known-but-not-emulated operations ------------------------------------------------------------------

def test_unknown_operations_are_404_segment_errors(api):
    message = _error(api.get("NoSuchFunction()"), 404, "0x8006088a")
    assert message == "Resource not found for the segment 'NoSuchFunction'."
    _error(api.post("NoSuchAction", {}), 404, "0x8006088a")
    account = api.create("accounts", {"name": "A"})
    message = _error(api.post(f"accounts({account})/Microsoft.Dynamics.CRM.NoSuchAction", {}), 404, "0x8006088a")
    assert "Microsoft.Dynamics.CRM.NoSuchAction" in message


def test_known_operations_not_emulated_are_a_named_501(api):
    for response in (api.post("GrantAccess", {}), api.post("QualifyLead", {}),
                     api.get("RetrievePrincipalAccess(Target=@p1)")):
        message = _error(response, 501, "0x8004d101")
        assert "does not implement the Dataverse operation" in message
    user = api.get("WhoAmI").json()["UserId"]
    message = _error(api.get(f"systemusers({user})/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()"), 501,
                     "0x8004d101")
    assert "'RetrieveUserPrivileges'" in message


# --- $metadata -------------------------------------------------------------------------------------------------------

def test_operations_are_declared_in_metadata(api):
    root = SafeET.fromstring(api.get("$metadata").content)
    schema = root.find(f"{EDMX}DataServices/{EDM}Schema")
    functions = {f.get("Name"): f for f in schema.findall(f"{EDM}Function")}
    actions = {a.get("Name"): a for a in schema.findall(f"{EDM}Action")}
    assert {"WhoAmI", "RetrieveCurrentOrganization", "RetrieveTotalRecordCount", "FormatAddress",
            "GetTimeZoneCodeByLocalizedName", "InitializeFrom", "RetrieveVersion"} <= set(functions)
    assert "CloseIncident" in actions
    params = {p.get("Name"): p.get("Type") for p in functions["RetrieveTotalRecordCount"].findall(f"{EDM}Parameter")}
    assert params == {"EntityNames": "Collection(Edm.String)"}
    assert functions["FormatAddress"].find(f"{EDM}ReturnType").get("Type") == "mscrm.FormatAddressResponse"
    close = {p.get("Name"): p.get("Type") for p in actions["CloseIncident"].findall(f"{EDM}Parameter")}
    assert close == {"IncidentResolution": "mscrm.crmbaseentity", "Status": "Edm.Int32"}
    complex_types = {c.get("Name") for c in schema.findall(f"{EDM}ComplexType")}
    enum_types = {e.get("Name") for e in schema.findall(f"{EDM}EnumType")}
    assert {"RetrieveCurrentOrganizationResponse", "OrganizationDetail", "EntityRecordCountCollection"} <= complex_types
    assert {"EndpointAccessType", "TargetFieldType"} <= enum_types
    container = schema.find(f"{EDM}EntityContainer")
    function_imports = {f.get("Name") for f in container.findall(f"{EDM}FunctionImport")}
    action_imports = {a.get("Name") for a in container.findall(f"{EDM}ActionImport")}
    assert set(functions) == function_imports and set(actions) == action_imports


# --- in $batch -------------------------------------------------------------------------------------------------------

def test_operations_in_a_batch_and_a_failing_change_set_rolls_the_close_back(api):
    from .test_batch import batch_body, change_set, request_part

    first, second = api.create("incidents", {"title": "One"}), api.create("incidents", {"title": "Two"})

    def close(case: str, status: int, content_id: int) -> list[str]:
        body = orjson.dumps({"IncidentResolution": {"incidentid@odata.bind": f"/incidents({case})"},
                             "Status": status}).decode()
        return request_part("POST", f"{API}/CloseIncident", body, content_id)

    body = batch_body(request_part("GET", f"{API}/RetrieveTotalRecordCount(EntityNames=['incident'])"),
                      change_set("changeset_close", close(first, -1, 1), close(second, 1, 2)))
    response = requests.post(api.root + "$batch", data=body, timeout=30,
                             headers={**AUTH, "Content-Type": 'multipart/mixed; boundary="batch_test"'})
    # as for any $batch here, a failed change set makes the batch answer its failure status
    assert response.status_code == 400, response.text
    assert '"EntityRecordCountCollection"' in response.text and "0x80048408" in response.text
    # the change set is atomic: the first close is rolled back with the failing second one
    assert api.get(f"incidents({first})?$select=statecode").json()["statecode"] == 0
    body = batch_body(change_set("changeset_ok", close(first, -1, 1), close(second, 1000, 2)))
    response = requests.post(api.root + "$batch", data=body, timeout=30,
                             headers={**AUTH, "Content-Type": 'multipart/mixed; boundary="batch_test"'})
    assert response.status_code == 200 and response.text.count("HTTP/1.1 204") == 2, response.text
    assert {api.get(f"incidents({c})?$select=statecode").json()["statecode"] for c in (first, second)} == {1}


def test_the_samples_initialize_from_section(api):
    """FunctionsAndActions section 3: the account it creates, InitializeFrom, then the new branch record. One column
    is left out: the shipped account table's address1_shippingmethodcode has only option 1, the sample sends 4."""
    original = {"accountcategorycode": 1, "address1_addresstypecode": 3, "address1_city": "Redmond",
                "address1_country": "USA", "address1_line1": "123 Maple St.", "address1_name": "Corporate Headquarters",
                "address1_postalcode": "98000", "address1_stateorprovince": "WA",
                "address1_telephone1": "555-1234", "customertypecode": 3,
                "description": "Contoso is a business consulting company.", "emailaddress1": "info@contoso.com",
                "industrycode": 7, "name": "Contoso Consulting", "numberofemployees": 150, "ownershipcode": 2,
                "preferredcontactmethodcode": 2, "telephone1": "(425) 555-1234"}
    source = api.create("accounts", original)
    response = api.get("InitializeFrom(EntityMoniker=@p1,TargetEntityName=@p2,TargetFieldType=@p3)",
                       params={"@p1": f"{{'@odata.id':'accounts({source})'}}", "@p2": "'account'",
                               "@p3": "Microsoft.Dynamics.CRM.TargetFieldType'ValidForCreate'"})
    assert response.status_code == 200, response.text
    record = response.json()
    assert record["parentaccountid@odata.bind"] == f"accounts({source})"
    assert {k: record[k] for k in original} == original
    record.update(name="Contoso Consulting Chicago Branch", address1_city="Chicago", numberofemployees=12)
    record.pop("ownerid@odata.bind", None)
    branch = api.create("accounts", record)
    row = api.get(f"accounts({branch})?$select=name,industrycode,_parentaccountid_value").json()
    assert row["name"] == "Contoso Consulting Chicago Branch" and row["industrycode"] == 7
    assert row["_parentaccountid_value"] == source
