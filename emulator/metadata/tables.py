"""The tables the emulator serves, as data. Column facts follow ../shared/spec/conversation-entity.md;
navigation names not confirmed by a source follow Dataverse's `<lookup>_<table>` pattern (see docs/decisions.md)."""
from __future__ import annotations

from . import optionsets as os_
from .model import (
    BIGINT,
    BOOLEAN,
    CUSTOMER,
    DATETIME,
    DECIMAL,
    ENTITYNAME,
    INTEGER,
    LOOKUP,
    MEMO,
    MULTISELECT,
    OWNER,
    PICKLIST,
    STATE,
    STATUS,
    STRING,
    UNIQUEIDENTIFIER,
    Attribute,
    OptionSet,
    Table,
)


def key(name: str, display: str) -> Attribute:
    return Attribute(name, UNIQUEIDENTIFIER, display, required="SystemRequired", valid_for_update=False)


def text(name: str, display: str, max_length: int = 100, required: str = "None", memo: bool = False) -> Attribute:
    return Attribute(name, MEMO if memo else STRING, display, max_length=max_length, required=required)


def lookup(name: str, display: str, table: str, *targets: str, type_: str = LOOKUP, navs: tuple[str, ...] = (),
           read_only: bool = False, description: str = "") -> Attribute:
    """A lookup; navigation names default to `<name>_<table>` (one target) or `<name>_<table>_<target>`."""
    if not navs:
        navs = (f"{name}_{table}",) if len(targets) == 1 else tuple(f"{name}_{table}_{t}" for t in targets)
    return Attribute(name, type_, display, description=description, targets=targets,
                     navigation=tuple(zip(targets, navs, strict=False)), valid_for_create=not read_only,
                     valid_for_update=not read_only)


def when(name: str, display: str, read_only: bool = False) -> Attribute:
    return Attribute(name, DATETIME, display, valid_for_create=not read_only, valid_for_update=not read_only)


def number(name: str, display: str, min_value: float = 0, max_value: float = 2147483647) -> Attribute:
    return Attribute(name, INTEGER, display, min_value=min_value, max_value=max_value)


def decimal(name: str, display: str) -> Attribute:
    return Attribute(name, DECIMAL, display, precision=2, min_value=0, max_value=100000000000)


def flag(name: str, display: str, default: bool = False) -> Attribute:
    return Attribute(name, BOOLEAN, display, default=default)


def choice(name: str, display: str, option_set: OptionSet, default: int | None = None) -> Attribute:
    return Attribute(name, PICKLIST, display, option_set=option_set, default=default)


def state_model(state: OptionSet, status: OptionSet) -> list[Attribute]:
    return [Attribute("statecode", STATE, "Status", option_set=state, default=0, required="SystemRequired"),
            Attribute("statuscode", STATUS, "Status Reason", option_set=status)]


def system_columns(table: str, user_owned: bool = True) -> list[Attribute]:
    """Audit, row-version and ownership columns every table carries."""
    cols = [
        when("createdon", "Created On", read_only=True),
        when("modifiedon", "Modified On", read_only=True),
        lookup("createdby", "Created By", table, "systemuser", read_only=True),
        lookup("modifiedby", "Modified By", table, "systemuser", read_only=True),
        Attribute("overriddencreatedon", DATETIME, "Record Created On", valid_for_update=False,
                  description="Date and time that the record was migrated; sets createdon."),
        Attribute("versionnumber", BIGINT, "Version Number", valid_for_create=False, valid_for_update=False),
    ]
    if user_owned:
        cols.append(lookup("ownerid", "Owner", table, "systemuser", "team", type_=OWNER,
                           navs=(f"ownerid_{table}", f"ownerid_{table}")))
    return cols


def simple_table(logical: str, entity_set: str, display: str, plural: str, primary_id: str, primary_name: str,
                 *columns: Attribute, user_owned: bool = True, name_length: int = 100,
                 name_display: str = "Name", status: bool = True) -> Table:
    attrs = [key(primary_id, display), text(primary_name, name_display, name_length, "ApplicationRequired"),
             *columns, *system_columns(logical, user_owned)]
    if status:
        attrs += state_model(os_.RECORD_STATE, os_.RECORD_STATUS)
    return Table(logical, entity_set, display, plural, primary_id, primary_name, tuple(attrs),
                 ownership="UserOwned" if user_owned else "BusinessOwned")


T = "msdyn_ocliveworkitem"

LIVEWORKITEM = Table(
    T, "msdyn_ocliveworkitems", "Conversation", "Conversations", "activityid", "subject",
    is_activity=True,
    description="Conversation (live work item) of Omnichannel for Customer Service.",
    attributes=(
        key("activityid", "Activity"),
        Attribute("msdyn_ocliveworkitemid", STRING, "ConversationId", "Unique Id of conversation", max_length=100),
        text("subject", "Subject", 200, "ApplicationRequired"),
        text("msdyn_title", "Conversation Title", 4000),
        text("description", "Description", 2000, memo=True),
        *state_model(os_.LIVEWORKITEM_STATE, os_.LIVEWORKITEM_STATUS),
        Attribute("msdyn_channel", MULTISELECT, "Channel", "The channel(s) in the conversation",
                  option_set=os_.STREAM_SOURCE),
        lookup("msdyn_activeagentid", "Active agent", T, "systemuser",
               navs=("msdyn_activeagentid_msdyn_ocliveworkitem",),
               description="The agent currently assigned, or the last agent for a closed conversation."),
        lookup("msdyn_liveworkstreamid", "Work stream", T, "msdyn_liveworkstream"),
        lookup("msdyn_lastsessionid", "Last agent session", T, "msdyn_ocsession"),
        lookup("msdyn_queueid", "Queue (legacy)", T, "msdyn_omnichannelqueue"),
        lookup("msdyn_cdsqueueid", "Queue", T, "queue"),
        lookup("msdyn_customer", "Customer", T, "account", "contact", type_=CUSTOMER,
               navs=("msdyn_customer_msdyn_ocliveworkitem_account", "msdyn_customer_msdyn_ocliveworkitem_contact")),
        lookup("msdyn_issueid", "Issue", T, "incident"),
        lookup("regardingobjectid", "Regarding", T, "account", "contact", "incident",
               navs=tuple(f"regardingobjectid_{t}_msdyn_ocliveworkitem" for t in ("account", "contact", "incident"))),
        Attribute("activitytypecode", ENTITYNAME, "Activity Type", valid_for_create=False, valid_for_update=False,
                  default=T),
        when("msdyn_createdon", "Created on"),
        when("msdyn_modifiedon", "Modified on"),
        when("msdyn_closedon", "Closed on"),
        when("msdyn_startedon", "Started on"),
        when("msdyn_initiatedon", "Initiated on"),
        when("msdyn_activeagentassignedon", "Active agent assigned on"),
        when("msdyn_firstwaitstartedon", "First wait started on"),
        when("msdyn_statusupdatedon", "Status updated on"),
        when("msdyn_wrapupinitiatedon", "Wrap-up initiated on"),
        flag("msdyn_isoutbound", "Outbound Conversation"),
        flag("msdyn_isabandoned", "Is abandoned"),
        flag("msdyn_isagentaccepted", "Agent accepted"),
        flag("msdyn_copilotengaged", "Copilot engaged"),
        flag("msdyn_thirdpartyconversation", "Third party conversation"),
        flag("msdyn_isagentsession", "Is agent session", default=True),
        decimal("msdyn_firstresponsetimeinmsadjforoh", "Conversation first response time"),
        decimal("msdyn_averageresponsetimeinmsadjforoh", "Conversation average response time"),
        number("msdyn_conversationfirstwaittimeinseconds", "Conversation first wait time (seconds)"),
        number("msdyn_conversationhandletimeinseconds", "Conversation handle time (seconds)"),
        number("msdyn_conversationholdtimeinseconds", "Conversation hold time (seconds)"),
        number("msdyn_conversationtalktimeinseconds", "Conversation talk time (seconds)"),
        number("msdyn_conversationwrapuptimeinseconds", "Conversation wrap-up time (seconds)"),
        number("msdyn_transfercount", "Transfer count"),
        number("msdyn_escalationcount", "Escalation count"),
        choice("msdyn_statuschangereason", "Status change reason", os_.STATUS_CHANGE_REASON),
        choice("msdyn_workstreamworkdistributionmode", "Work distribution mode", os_.WORK_DISTRIBUTION_MODE),
        choice("msdyn_customersentimentlabel", "Customer sentiment", os_.SENTIMENT_LABEL),
        choice("prioritycode", "Priority", os_.PRIORITY, default=1),
        *system_columns(T),
    ),
)

S = "msdyn_ocsession"
SESSION = Table(
    S, "msdyn_ocsessions", "Session", "Sessions", "activityid", "subject", is_activity=True,
    description="Session for interacting with a customer.",
    attributes=(
        key("activityid", "Activity"),
        text("subject", "Subject", 200, "ApplicationRequired"),
        lookup("msdyn_liveworkitemid", "Conversation", S, "msdyn_ocliveworkitem"),
        Attribute("msdyn_channel", PICKLIST, "Channel", option_set=os_.STREAM_SOURCE),
        lookup("msdyn_activeagentid", "Agent", S, "systemuser"),
        lookup("msdyn_cdsqueueid", "Queue", S, "queue"),
        when("msdyn_sessioncreatedon", "Session created on"),
        when("msdyn_agentassignedon", "Agent assigned on"),
        when("msdyn_agentacceptedon", "Agent accepted on"),
        when("msdyn_sessionclosedon", "Session closed on"),
        Attribute("activitytypecode", ENTITYNAME, "Activity Type", valid_for_create=False, valid_for_update=False,
                  default=S),
        *state_model(os_.ACTIVITY_STATE, os_.ACTIVITY_STATUS),
        *system_columns(S),
    ),
)

SYSTEMUSER = simple_table(
    "systemuser", "systemusers", "User", "Users", "systemuserid", "fullname",
    text("firstname", "First Name", 64), text("lastname", "Last Name", 64),
    text("internalemailaddress", "Primary Email", 100), text("domainname", "User Name", 1024),
    text("title", "Title", 128), flag("isdisabled", "Status"),
    user_owned=False, name_length=200, name_display="Full Name", status=False,
)

WORKSTREAM = simple_table(
    "msdyn_liveworkstream", "msdyn_liveworkstreams", "Work Stream", "Work Streams", "msdyn_liveworkstreamid",
    "msdyn_name", choice("msdyn_streamsource", "Channel", os_.STREAM_SOURCE),
    choice("msdyn_mode", "Work distribution mode", os_.WORK_DISTRIBUTION_MODE, default=192350000),
    number("msdyn_capacityrequired", "Capacity"),
)

QUEUE = simple_table(
    "queue", "queues", "Queue", "Queues", "queueid", "name",
    choice("msdyn_queuetype", "Type", os_.QUEUE_TYPE, default=192350000),
    text("description", "Description", 2000, memo=True), name_length=400,
)

OMNICHANNEL_QUEUE = simple_table(
    "msdyn_omnichannelqueue", "msdyn_omnichannelqueues", "Omnichannel Queue", "Omnichannel Queues",
    "msdyn_omnichannelqueueid", "msdyn_name",
)

ACCOUNT = simple_table(
    "account", "accounts", "Account", "Accounts", "accountid", "name",
    text("accountnumber", "Account Number", 20), text("telephone1", "Main Phone", 50),
    text("emailaddress1", "Email", 100), text("address1_city", "City", 80), name_length=160,
    name_display="Account Name",
)

CONTACT = simple_table(
    "contact", "contacts", "Contact", "Contacts", "contactid", "fullname",
    text("firstname", "First Name", 50), text("lastname", "Last Name", 50),
    text("emailaddress1", "Email", 100), text("telephone1", "Business Phone", 50),
    lookup("parentcustomerid", "Company Name", "contact", "account", type_=CUSTOMER,
           navs=("parentcustomerid_account",)),
    name_length=160, name_display="Full Name",
)

INCIDENT = simple_table(
    "incident", "incidents", "Case", "Cases", "incidentid", "title",
    text("ticketnumber", "Case Number", 100), name_length=200, name_display="Case Title",
)

TEAM = simple_table("team", "teams", "Team", "Teams", "teamid", "name", user_owned=False, name_length=160,
                    name_display="Team Name", status=False)

ALL_TABLES: tuple[Table, ...] = (
    LIVEWORKITEM, SESSION, SYSTEMUSER, WORKSTREAM, QUEUE, OMNICHANNEL_QUEUE, ACCOUNT, CONTACT, INCIDENT, TEAM,
)
