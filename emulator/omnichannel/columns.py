"""The columns of msdyn_ocliveworkitem the client accepts in `attributes` and `orderBy`, kept client-side as data
so the client needs nothing from the server (and works against a real org). Lookups are selected as `_x_value`."""
from __future__ import annotations

ENTITY_SET = "msdyn_ocliveworkitems"

COLUMNS = (
    "activityid", "msdyn_ocliveworkitemid", "subject", "msdyn_title", "description", "statecode", "statuscode",
    "msdyn_channel", "activitytypecode", "msdyn_createdon", "msdyn_modifiedon", "msdyn_closedon", "msdyn_startedon",
    "msdyn_initiatedon", "msdyn_activeagentassignedon", "msdyn_firstwaitstartedon", "msdyn_statusupdatedon",
    "msdyn_wrapupinitiatedon", "msdyn_isoutbound", "msdyn_isabandoned", "msdyn_isagentaccepted",
    "msdyn_copilotengaged", "msdyn_thirdpartyconversation", "msdyn_isagentsession",
    "msdyn_firstresponsetimeinmsadjforoh", "msdyn_averageresponsetimeinmsadjforoh",
    "msdyn_conversationfirstwaittimeinseconds", "msdyn_conversationhandletimeinseconds",
    "msdyn_conversationholdtimeinseconds", "msdyn_conversationtalktimeinseconds",
    "msdyn_conversationwrapuptimeinseconds", "msdyn_transfercount", "msdyn_escalationcount",
    "msdyn_statuschangereason", "msdyn_workstreamworkdistributionmode", "msdyn_customersentimentlabel",
    "prioritycode", "createdon", "modifiedon", "overriddencreatedon", "versionnumber",
)
LOOKUPS = (
    "msdyn_activeagentid", "msdyn_liveworkstreamid", "msdyn_lastsessionid", "msdyn_queueid", "msdyn_cdsqueueid",
    "msdyn_customer", "msdyn_issueid", "regardingobjectid", "createdby", "modifiedby", "ownerid",
)

# The five attributes every record carries, as the documentation names them (decision 4).
DEFAULT_ATTRIBUTES = ("msdyn_ocliveworkitemid", "msdyn_liveworkstreamid", "msdyn_lastsessionid", "StatusCode",
                      "CreatedOn")

STATUS_REASONS = {1: "Open", 2: "Active", 3: "Waiting", 4: "Closed", 5: "Wrap-up", 6: "Resolved", 7: "Scheduled"}


def property_name(logical_name: str) -> str:
    """Web API property name of a column: `_x_value` for a lookup."""
    return f"_{logical_name}_value" if logical_name in LOOKUPS else logical_name


# lower-cased logical name, and lower-cased `_x_value` of lookups -> Web API property name
_BY_NAME = {name: name for name in COLUMNS}
_BY_NAME.update({name: property_name(name) for name in LOOKUPS})
_BY_NAME.update({property_name(name): property_name(name) for name in LOOKUPS})


def resolve(name: str) -> str | None:
    """The Web API property name for a column name given in any case, or None if the table has no such column."""
    return _BY_NAME.get(name.strip().lower())
