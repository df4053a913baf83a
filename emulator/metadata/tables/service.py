"""incident (Case), queue, queueitem (schema-breadth.md §6.8, §6.16, §6.17)."""
from __future__ import annotations

from .. import optionsets as os_
from .columns import On, choice, decimal, double, entity_name, flag, memo, number, text, when

OBJECT_TYPE = ("4200 Activity; 4201 Appointment; 4202 Email; 4204 Fax; 4207 Letter; 4210 Phone Call; 4212 Task; "
               "4216 Social Activity; 4251 Recurring Appointment; 9953 Knowledge Article; 10060 Knowledge Article "
               "Template")
SLA_STATUS = "1 In Progress; 2 Nearing Noncompliance; 3 Succeeded; 4 Noncompliant"

i = On("incident")
INCIDENT = i.table(
    "incidents", "Case", "Cases", "incidentid", "title",
    text("ticketnumber", "Case Number", 100, create_only=True),
    text("title", "Case Title", 200, "ApplicationRequired"),
    i.customer("customerid", "Customer", required="SystemRequired"),
    i.lookup("accountid", "Account", "account", read_only=True),
    i.lookup("contactid", "Contact", "contact", read_only=True),
    i.lookup("primarycontactid", "Contact", "contact"),
    i.lookup("responsiblecontactid", "Responsible Contact", "contact"),
    choice("caseorigincode", "Origin", "1 Phone; 2 Email; 3 Web; 2483 Facebook; 3986 Twitter", default=1,
           table="incident"),
    choice("casetypecode", "Case Type", "1 Question; 2 Problem; 3 Request", table="incident"),
    choice("prioritycode", "Priority", "1 High; 2 Normal; 3 Low", default=2, table="incident"),
    choice("severitycode", "Severity", os_.DEFAULT_VALUE, default=1, table="incident"),
    choice("customersatisfactioncode", "Satisfaction", "1 Very Dissatisfied; 2 Dissatisfied; 3 Neutral; "
           "4 Satisfied; 5 Very Satisfied", table="incident"),
    choice("contractservicelevelcode", "Service Level", "1 Gold; 2 Silver; 3 Bronze", table="incident"),
    choice("incidentstagecode", "Case Stage", os_.DEFAULT_VALUE, default=1, table="incident"),
    choice("firstresponseslastatus", "First Response SLA Status", SLA_STATUS, table="incident"),
    choice("resolvebyslastatus", "Resolve By SLA Status", SLA_STATUS, table="incident"),
    choice("messagetypecode", "Received As", "0 Public Message; 1 Private Message", table="incident"),
    memo("description", "Description", 2000), text("emailaddress", "Email Address", 100),
    text("productserialnumber", "Serial Number", 100),
    when("followupby", "Follow Up By"), when("resolveby", "Resolve By"), when("responseby", "First Response By"),
    flag("isescalated", "Is Escalated"), when("escalatedon", "Escalated On", read_only=True),
    flag("firstresponsesent", "First Response Sent"), flag("checkemail", "Check Email"),
    flag("routecase", "Route Case"),
    flag("customercontacted", "Customer Contacted"),
    flag("decremententitlementterm", "Decrement Entitlement Terms", default=True),
    double("influencescore", "Influence Score", 0, 1000000000, 2),
    i.lookup("parentcaseid", "Parent Case", "incident"), i.lookup("existingcase", "Existing Case", "incident"),
    i.lookup("masterid", "Master Case", "incident", read_only=True), flag("merged", "Merged", read_only=True),
    number("numberofchildincidents", "Child Cases", 0, read_only=True),
    decimal("exchangerate", "Exchange Rate", 10, 0.0000000001, 100000000000, read_only=True),
    states=(os_.INCIDENT_STATE, os_.INCIDENT_STATUS),
    description="Service request case associated with a contract.",
)

q = On("queue")
QUEUE = q.table(
    "queues", "Queue", "Queues", "queueid", "name",
    text("name", "Queue Name", 400, "ApplicationRequired"),
    choice("msdyn_queuetype", "Type", os_.QUEUE_TYPE, default=192350000),  # Omnichannel's queue type
    memo("description", "Description", 2000),
    choice("queueviewtype", "Type", os_.choices("queue_queueviewtype", "0 Public; 1 Private", True), default=0,
           required="SystemRequired"),
    choice("queuetypecode", "Queue Type", os_.DEFAULT_VALUE, read_only=True, table="queue"),
    text("emailaddress", "Incoming Email", 100),
    q.lookup("businessunitid", "Business Unit", "businessunit"),
    q.lookup("primaryuserid", "Owner (deprecated)", "systemuser"),
    choice("incomingemaildeliverymethod", "Incoming Email Delivery Method", "0 None; 2 Server-Side Synchronization "
           "or Email Router; 3 Forward Mailbox", default=0, table="queue"),
    choice("outgoingemaildeliverymethod", "Outgoing Email Delivery Method", "0 None; 2 Server-Side Synchronization "
           "or Email Router", default=0, table="queue"),
    choice("incomingemailfilteringmethod", "Convert Incoming Email To Activities", "0 All email messages; 1 Email "
           "messages in response to Dynamics 365 email; 2 Email messages from Dynamics 365 Leads, Contacts and "
           "Accounts; 3 Email messages from Dynamics 365 records that are email enabled; 4 No email messages",
           default=0, table="queue"),
    choice("emailrouteraccessapproval", "Primary Email Status", "0 Empty; 1 Approved; 2 Pending Approval; 3 Rejected",
           default=0, table="queue"),
    flag("ignoreunsolicitedemail", "Ignore Unsolicited Email"),
    number("numberofitems", "Queue Items", 0, read_only=True),
    number("numberofmembers", "Number Of Members", 0, read_only=True),
    flag("isfaxqueue", "Fax Queue", read_only=True),
    decimal("exchangerate", "Exchange Rate", 12, 0.000000000001, 100000000000, read_only=True),
    states=(os_.RECORD_STATE, os_.RECORD_STATUS),
    description="A list of records that require action, such as accounts, activities, and cases.",
)

WORKED = ("activitypointer", "appointment", "email", "phonecall", "task", "incident", "msdyn_ocliveworkitem")
qi = On("queueitem")
QUEUEITEM = qi.table(
    "queueitems", "Queue Item", "Queue Items", "queueitemid", "title",
    text("title", "Title", 300, read_only=True),
    qi.lookup("queueid", "Queue", "queue", required="ApplicationRequired", create_only=True),
    qi.lookup("objectid", "Object", *WORKED, required="ApplicationRequired", create_only=True),
    entity_name("objectidtypecode", "Object Type"),
    choice("objecttypecode", "Type", OBJECT_TYPE, read_only=True, table="queueitem"),
    qi.lookup("workerid", "Worked By", "systemuser", "team"),
    entity_name("workeridtype", "Worker Type"),
    when("workeridmodifiedon", "Worked On", read_only=True), when("enteredon", "Entered Queue", read_only=True),
    number("priority", "Priority", 0, 1000000000),
    text("sender", "From", 250), text("torecipients", "To", 500),
    number("state", "State (deprecated)", 0, 1000000000), number("status", "Status (deprecated)", 0, 1000000000),
    qi.lookup("owninguser", "Owner", "systemuser", read_only=True),
    qi.lookup("owningbusinessunit", "Owning Business Unit", "businessunit", read_only=True),
    decimal("exchangerate", "Exchange Rate", 10, 0.0000000001, 100000000000, read_only=True),
    ownership="None", states=os_.state_status("queueitem", "0 Active 1; 1 Inactive 2", "1 Active 0; 2 Inactive 1"),
    description="A specific item in a queue, such as a case record or an activity record.",
)
