"""The emulated Dataverse functions and actions (registered in operations.py's registry): RetrieveCurrentOrganization,
RetrieveVersion, RetrieveTotalRecordCount, FormatAddress, GetTimeZoneCodeByLocalizedName, InitializeFrom and
CloseIncident. Decisions where Dataverse's behaviour is configuration (mappings, address formats, time zones) are in
docs/decisions.md."""
from __future__ import annotations

import uuid
from typing import Any

from flask import request

from .. import metadata, server
from ..errors import BadRequest, NotSupported, RecordNotFound
from ..metadata import Table
from ..odata import serialize
from ..responses import json_response
from ..store import write as store
from . import operations as ops
from .discovery import _IDS, ORGANIZATION_ID
from .entitydefinitions import MetadataNotFound
from .operations import ENTITY, MISSING_PARAMETER, Parameter, operation
from .read import service_root

ORGANIZATION_VERSION = "9.2.0.0"
ENVIRONMENT_ID = str(uuid.uuid5(_IDS, "environment"))
TENANT_ID = str(uuid.uuid5(_IDS, "tenant"))
DATACENTER_ID = str(uuid.uuid5(_IDS, "datacenter"))


@operation("RetrieveCurrentOrganization", "Function", Parameter("AccessType", "mscrm.EndpointAccessType"),
           returns="mscrm.RetrieveCurrentOrganizationResponse")
def retrieve_current_organization(args: dict[str, Any]):
    host = request.host_url  # every access type reaches the same emulator
    url_name = request.host.split(":")[0].split(".")[0]
    endpoints = {"WebApplication": host, "OrganizationService": f"{host}XRMServices/2011/Organization.svc",
                 "OrganizationDataService": f"{host}XRMServices/2011/OrganizationData.svc"}
    detail = {"OrganizationId": ORGANIZATION_ID, "FriendlyName": "Dataverse emulator",
              "OrganizationVersion": ORGANIZATION_VERSION, "EnvironmentId": ENVIRONMENT_ID,
              "DatacenterId": DATACENTER_ID, "Geo": "emulator", "TenantId": TENANT_ID, "UrlName": url_name,
              "UniqueName": "emulator",
              "Endpoints": {"Count": len(endpoints), "IsReadOnly": False, "Keys": list(endpoints),
                            "Values": list(endpoints.values())},
              "State": "Enabled"}
    return ops.response("RetrieveCurrentOrganizationResponse", {"Detail": detail})


@operation("RetrieveVersion", "Function", returns="mscrm.RetrieveVersionResponse")
def retrieve_version(args: dict[str, Any]):
    return ops.response("RetrieveVersionResponse", {"Version": ORGANIZATION_VERSION})


def _table(name: str) -> Table:
    table = metadata.find(name)
    if table is None:
        raise MetadataNotFound(f"The entity with a name = '{name}' with namemapping = 'Logical' was not found in the "
                               f"MetadataCache.")
    return table


@operation("RetrieveTotalRecordCount", "Function", Parameter("EntityNames", "Collection(Edm.String)"),
           returns="mscrm.RetrieveTotalRecordCountResponse")
def retrieve_total_record_count(args: dict[str, Any]):
    """Dataverse answers from a snapshot up to a day old; the emulator counts the rows now."""
    names = args["EntityNames"]
    db = server.current().db
    counts = [db.count(_table(name).logical_name) for name in names]
    return ops.response("RetrieveTotalRecordCountResponse", {"EntityRecordCountCollection": {
        "Count": len(names), "IsReadOnly": False, "Keys": names, "Values": counts}})


_JAPAN = {"japan", "jp", "jpn", "日本"}


@operation("FormatAddress", "Function", Parameter("Line1", "Edm.String"), Parameter("City", "Edm.String"),
           Parameter("StateOrProvince", "Edm.String"), Parameter("PostalCode", "Edm.String"),
           Parameter("Country", "Edm.String"), returns="mscrm.FormatAddressResponse")
def format_address(args: dict[str, Any]):
    """Two of Dataverse's country formats: Japan's (postal code first, from large to small) and the default
    (US-style) one used for every other country. Lines are joined with CRLF; empty parts are left out."""
    line1, city, state, postal, country = (args[p].strip() for p in
                                           ("Line1", "City", "StateOrProvince", "PostalCode", "Country"))
    if country.lower() in _JAPAN:
        lines = [postal, state, city, line1, country]
    else:
        locality = ", ".join(p for p in (city, " ".join(p for p in (state, postal) if p)) if p)
        lines = [line1, locality, country]
    return ops.response("FormatAddressResponse", {"Address": "\r\n".join(line for line in lines if line)})


# Standard and daylight names of Dataverse's time zone definitions (timezonedefinition.standardname and
# daylightname) with their time zone codes. A subset: the zones most tests use.
TIME_ZONES: tuple[tuple[int, str, str], ...] = (
    (2, "Hawaiian Standard Time", "Hawaiian Daylight Time"),
    (3, "Alaskan Standard Time", "Alaskan Daylight Time"),
    (4, "Pacific Standard Time", "Pacific Daylight Time"),
    (10, "Mountain Standard Time", "Mountain Daylight Time"),
    (20, "Central Standard Time", "Central Daylight Time"),
    (35, "Eastern Standard Time", "Eastern Daylight Time"),
    (85, "GMT Standard Time", "GMT Daylight Time"),
    (92, "Coordinated Universal Time", "Coordinated Universal Time"),
    (105, "Romance Standard Time", "Romance Daylight Time"),
    (110, "W. Europe Standard Time", "W. Europe Daylight Time"),
    (190, "India Standard Time", "India Daylight Time"),
    (210, "China Standard Time", "China Daylight Time"),
    (235, "Tokyo Standard Time", "Tokyo Daylight Time"),
    (255, "AUS Eastern Standard Time", "AUS Eastern Daylight Time"),
    (290, "New Zealand Standard Time", "New Zealand Daylight Time"),
)


@operation("GetTimeZoneCodeByLocalizedName", "Function", Parameter("LocalizedStandardName", "Edm.String"),
           Parameter("LocaleId", "Edm.Int32"), returns="mscrm.GetTimeZoneCodeByLocalizedNameResponse")
def get_time_zone_code_by_localized_name(args: dict[str, Any]):
    """The names are the English (1033) ones whatever the LocaleId; the match ignores case."""
    name = args["LocalizedStandardName"].strip().lower()
    for code, standard, daylight in TIME_ZONES:
        if name in (standard.lower(), daylight.lower()):
            return ops.response("GetTimeZoneCodeByLocalizedNameResponse", {"TimeZoneCode": code})
    raise BadRequest(f"No time zone has the localized name '{args['LocalizedStandardName']}' (LocaleId "
                     f"{args['LocaleId']}). The emulator knows: {', '.join(s for _, s, _ in TIME_ZONES)}.",
                     code=MISSING_PARAMETER)


_SYSTEM_COLUMNS = {"createdon", "modifiedon", "createdby", "modifiedby", "overriddencreatedon", "versionnumber",
                   "ownerid", "statecode", "statuscode"}


@operation("InitializeFrom", "Function", Parameter("EntityMoniker", ENTITY),
           Parameter("TargetEntityName", "Edm.String"),
           Parameter("TargetFieldType", "mscrm.TargetFieldType"),
           Parameter("SkipParentalRelationshipMapping", "Edm.Boolean", optional=True), returns="mscrm.crmbaseentity")
def initialize_from(args: dict[str, Any]):
    """A new, unsaved target record from a source record. Dataverse copies what the relationship's column
    mappings say (organization configuration); the emulator maps every column of the same name that both tables
    have and the field type allows (system columns excepted), plus the parental lookup to the source record."""
    op = ops.OPERATIONS["InitializeFrom"]
    source_table, key = ops.reference(op, "EntityMoniker", args["EntityMoniker"])
    target = _table(args["TargetEntityName"])
    row = ops.fetch_record(source_table, key)
    field_type = args["TargetFieldType"]
    copied = []
    for attr in target.attributes:
        source_attr = source_table.attribute(attr.logical_name)
        if (source_attr is None or attr.logical_name in _SYSTEM_COLUMNS or attr.logical_name == target.primary_id
                or attr.is_lookup or source_attr.is_lookup or source_attr.type != attr.type
                or row._mapping[attr.logical_name] is None):
            continue
        if field_type == "ValidForCreate" and not attr.valid_for_create:
            continue
        if field_type == "ValidForUpdate" and not attr.valid_for_update:
            continue
        copied.append(attr)
    body: dict[str, Any] = {"@odata.context": f"{service_root()}$metadata#{target.entity_set}/$entity",
                            "@odata.type": f"#{target.type_name}"}
    body.update({k: v for k, v in serialize.record(copied, row).items() if not k.startswith("@")})
    if not args.get("SkipParentalRelationshipMapping", False):
        for attr in target.lookups:
            if attr.logical_name in _SYSTEM_COLUMNS:
                continue
            for table_name, nav in attr.navigation:
                if table_name == source_table.logical_name:
                    body[f"{nav}@odata.bind"] = f"{source_table.entity_set}({key})"
                    break
    return json_response(body)


@operation("CloseIncident", "Action", Parameter("IncidentResolution", ENTITY, entity_type="incidentresolution"),
           Parameter("Status", "Edm.Int32"))
def close_incident(args: dict[str, Any]):
    """Resolves the case named by the resolution's `incidentid@odata.bind`: its statecode becomes the Resolved
    state and its statuscode `Status` (-1: the state's default). The resolution activity is stored when the
    incidentresolution table exists; the shipped catalog has none, so then only the case changes."""
    incident = metadata.find("incident")
    if incident is None:
        raise NotSupported("CloseIncident needs the incident table, which this emulator's catalog does not have.")
    resolution = args["IncidentResolution"]
    bind = resolution.get("incidentid@odata.bind")
    if not isinstance(bind, str):
        raise BadRequest("Required field 'incidentid' is missing for the IncidentResolution of "
                         "RequestName='CloseIncident': set \"incidentid@odata.bind\": \"/incidents(<id>)\".",
                         code=MISSING_PARAMETER)
    table, key = ops.reference(ops.OPERATIONS["CloseIncident"], "IncidentResolution", {"@odata.id": bind})
    if table is not incident:
        raise BadRequest(f"incidentid@odata.bind must name an incident, not '{bind}'.", code=MISSING_PARAMETER)
    state_attr = incident.state_attribute
    states = state_attr.option_set if state_attr is not None else None
    if states is None:
        raise NotSupported("CloseIncident needs the incident table's statecode column.")
    resolved = next((o for o in states.options if o.label == "Resolved"),
                    next(o for o in states.options if o.value != 0))
    status = args["Status"]
    emulator = server.current()
    with emulator.db.transaction() as conn:
        existing = store.fetch(conn, emulator.db, incident, key, lock=True)
        if existing is None:
            raise RecordNotFound(incident.logical_name, key)
        if existing._mapping["statecode"] != 0:
            raise BadRequest(f"The incident {key} is not active (statecode {existing._mapping['statecode']}): only "
                             f"an active case can be resolved.", code=MISSING_PARAMETER)
        change: dict[str, Any] = {"statecode": resolved.value}
        if status != -1:
            change["statuscode"] = status
        store.update(conn, emulator.db, incident, key, change, ops.context(), existing)
        resolution_table = metadata.find("incidentresolution")
        if resolution_table is not None:
            store.create(conn, emulator.db, resolution_table, resolution, ops.context())
    return ops.no_content()
