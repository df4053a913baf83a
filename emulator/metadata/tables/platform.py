"""role, solution, savedquery (system views), userquery (personal views) (schema-breadth.md §6.18-6.20)."""
from __future__ import annotations

from .. import optionsets as os_
from .columns import On, choice, entity_name, flag, memo, number, text, uid, when

COMPONENT_STATE = os_.choices("componentstate", "0 Published; 1 Unpublished; 2 Deleted; 3 Deleted Unpublished", True)
QUERY_TYPE_MAX = 1000000000

r = On("role")
ROLE = r.table(
    "roles", "Security Role", "Security Roles", "roleid", "name",
    text("name", "Name", 100, "SystemRequired"),
    r.lookup("businessunitid", "Business Unit", "businessunit", required="SystemRequired", create_only=True),
    memo("description", "Description", 2000), text("appliesto", "Applies To", 2000),
    flag("isautoassigned", "Auto Assign"), choice("isinherited", "Member's privilege inheritance", os_.choices(
        "role_isinherited", "0 Team privileges only; 1 Direct User (Basic) access level and Team privileges"),
        default=1),
    flag("issystemgenerated", "Is System Generated"),
    memo("summaryofcoretablepermissions", "Summary of Core Table Permissions", 5000),
    uid("applicationid", "Application Id"),
    r.lookup("parentroleid", "Parent Role", "role", read_only=True),
    r.lookup("parentrootroleid", "Parent Root Role", "role", read_only=True),
    uid("roleidunique", "Unique Id", read_only=True),
    r.lookup("solutionid", "Solution", "solution", read_only=True, navs=("solution_role",)),
    uid("supportingsolutionid", "Solution", read_only=True),
    flag("ismanaged", "State", true_label="Managed", false_label="Unmanaged", read_only=True),
    choice("componentstate", "Component State", COMPONENT_STATE, read_only=True),
    when("overwritetime", "Record Overwrite Time", read_only=True),
    ownership="BusinessOwned",
    description="Grouping of security privileges. Users are assigned roles that authorize their access.",
)

s = On("solution")
SOLUTION = s.table(
    "solutions", "Solution", "Solutions", "solutionid", "friendlyname",
    text("uniquename", "Name", 65, "SystemRequired", create_only=True),
    text("friendlyname", "Display Name", 256, "SystemRequired"),
    text("version", "Version", 256, "SystemRequired"),
    memo("description", "Description", 2000),
    choice("solutiontype", "Solution Type", "0 None; 1 Snapshot; 2 Internal", default=0, table="solution"),
    text("templatesuffix", "Suffix", 65, create_only=True),
    text("solutionpackageversion", "Solution Package Version", 256),
    flag("ismanaged", "Package Type", true_label="Managed", false_label="Unmanaged", read_only=True),
    flag("isvisible", "Is Visible Outside Platform", default=True, read_only=True),
    flag("isapimanaged", "Is Api Managed Solution", read_only=True),
    flag("isinternal", "Is internal solution", read_only=True),
    when("installedon", "Installed On", read_only=True), when("updatedon", "Updated On", read_only=True),
    s.lookup("parentsolutionid", "Parent Solution", "solution", read_only=True),
    text("publisheridprefix", "Publisher Prefix", 8, read_only=True),
    number("publisheridoptionvalueprefix", "Publisher Option Value Prefix", 10000, 99999, read_only=True),
    ownership="OrganizationOwned",
    description="A solution which contains CRM customizations.",
)


def _view_columns(on: On, saved: bool) -> list:
    cols = [
        text("name", "Name", 200, "SystemRequired"), memo("description", "Description", 2000),
        entity_name("returnedtypecode", "Entity Name"),
        number("querytype", "Query Type", 0, QUERY_TYPE_MAX, required="SystemRequired"),
        memo("fetchxml", "Fetch Xml", 1073741823), memo("layoutxml", "Grid Layout", 1073741823),
        memo("layoutjson", "Layout Json", 1073741823), memo("columnsetxml", "Column Set XML", 1073741823),
        memo("conditionalformatting", "Conditional Formatting", 1073741823),
        memo("advancedgroupby", "Advanced Group By", 100),
        memo("offlinesqlquery", "Offline SQL Query", 1073741823),
        flag("enablecrosspartition", "Enable Cross Partition"),
    ]
    if saved:
        cols += [number("queryappusage", "Query Application Usage", 0, QUERY_TYPE_MAX),
                 flag("isdefault", "Is Default"), flag("isquickfindquery", "Is Quick Find Query"),
                 flag("iscustom", "Is Custom", read_only=True), flag("ismanaged", "Is Managed", read_only=True),
                 flag("isprivate", "Is Private", read_only=True),
                 flag("isuserdefined", "Is User Defined", read_only=True),
                 flag("iscustomizable", "Customizable", default=True),
                 flag("canbedeleted", "Can Be Deleted", default=True)]
    else:
        cols.append(on.lookup("parentqueryid", "Parent Query", "savedquery"))
    return cols


VIEW_STATES = os_.state_status("savedquery", "0 Active 1; 1 Inactive 2", "1 Active 0; 2 Inactive 1")
sq = On("savedquery")
SAVEDQUERY = sq.table(
    "savedqueries", "View", "Views", "savedqueryid", "name", *_view_columns(sq, True),
    ownership="OrganizationOwned", states=VIEW_STATES,
    description="Saved query against the database.",
)

uq = On("userquery")
USERQUERY = uq.table(
    "userqueries", "Saved View", "Saved Views", "userqueryid", "name", *_view_columns(uq, False),
    states=os_.state_status("userquery", "0 Active 1; 1 Inactive 2", "1 Active 0; 2 Inactive 1"),
    description="Saved database query that is owned by a user.",
)
