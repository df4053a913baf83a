"""Activities: activitypointer (the read-only union of every activity), task, email, phonecall, appointment; and
activityparty and annotation (schema-breadth.md §6.1, §6.9-6.15)."""
from __future__ import annotations

from .. import optionsets as os_
from ..model import Attribute
from .columns import (
    On,
    choice,
    decimal,
    double,
    entity_name,
    flag,
    memo,
    number,
    text,
    uid,
    when,
)

REGARDING = ("account", "contact", "incident", "lead")  # what tasks, emails, calls and appointments are about
ACTIVITIES = ("task", "email", "phonecall", "appointment", "msdyn_ocliveworkitem", "msdyn_ocsession")
PRIORITY = os_.choices("activitypointer_prioritycode", os_.LOW_NORMAL_HIGH, True)
DELIVERY_PRIORITY = os_.choices("activitypointer_deliveryprioritycode", os_.LOW_NORMAL_HIGH, True)
INSTANCE_TYPE = os_.choices("activitypointer_instancetypecode", "0 Not Recurring; 1 Recurring Master; "
                            "2 Recurring Instance; 3 Recurring Exception; 4 Recurring Future Exception", True)
COMMUNITY = os_.choices("socialprofile_community", "0 Other; 1 Facebook; 2 Twitter", True)


def direction() -> Attribute:
    return flag("directioncode", "Direction", default=True, true_label="Outgoing", false_label="Incoming")


def common(on: On, subject: int = 200, subject_required: str = "ApplicationRequired", description: int = 2000,
           regarding: tuple[str, ...] = REGARDING) -> list[Attribute]:
    """The activity common set (schema-breadth.md §6.1), activitytypecode set by the record API."""
    return [
        text("subject", "Subject", subject, subject_required),
        memo("description", "Description", description),
        entity_name("activitytypecode", "Activity Type", read_only=True, default=on.name),
        on.lookup("regardingobjectid", "Regarding", *regarding),
        when("scheduledstart", "Start Date"), when("scheduledend", "Due Date"),
        when("actualstart", "Actual Start"), when("actualend", "Actual End"),
        number("actualdurationminutes", "Actual Duration"),
        number("scheduleddurationminutes", "Scheduled Duration", read_only=on.name == "task"),
        choice("prioritycode", "Priority", PRIORITY, default=1),
        choice("deliveryprioritycode", "Delivery Priority", DELIVERY_PRIORITY, default=1),
        flag("isbilled", "Is Billed"), flag("isworkflowcreated", "Is Workflow Created"),
        flag("ismapiprivate", "Is Private"), flag("leftvoicemail", "Left Voice Mail"),
        flag("isregularactivity", "Is Regular Activity", default=True, read_only=True),
        choice("instancetypecode", "Recurring Instance Type", INSTANCE_TYPE, default=0, read_only=True),
        choice("community", "Social Channel", COMMUNITY),
        text("exchangeitemid", "Exchange Item ID", 200), text("exchangeweblink", "Exchange WebLink", 1250),
        memo("activityadditionalparams", "Additional Parameters", 8192),
        when("sortdate", "Sort Date"), when("senton", "Date Sent", read_only=True),
        when("deliverylastattemptedon", "Date Delivery Last Attempted", read_only=True),
        when("postponeactivityprocessinguntil", "Delay activity processing until", read_only=True),
        uid("seriesid", "Series Id", read_only=True),
        number("onholdtime", "On Hold Time (Minutes)", -2147483648, read_only=True),
        when("lastonholdtime", "Last On Hold Time"),
        uid("processid", "Process"), uid("stageid", "Process Stage"), text("traversedpath", "Traversed Path", 1250),
        decimal("exchangerate", "Exchange Rate", 10, 0.0000000001, 100000000000, read_only=True),
    ]


ap = On("activitypointer", activity=True)
ACTIVITYPOINTER = ap.table(
    "activitypointers", "Activity", "Activities", "activityid", "subject",
    *common(ap, 400, "None", 1073741823, regarding=REGARDING + ("msdyn_ocliveworkitem",)),
    states=(os_.POINTER_STATE, os_.POINTER_STATUS),
    description="Task performed, or to be performed, by a user. An activity is any action for which an entry can be "
                "made on a calendar. Read-only here: the rows of every activity table.",
)
# Columns the activitypointer view takes from each activity table (NULL where a table has none).
POINTER_COLUMNS = tuple(a.logical_name for a in ACTIVITYPOINTER.attributes)

t = On("task", activity=True)
TASK = t.table(
    "tasks", "Task", "Tasks", "activityid", "subject",
    *common(t),
    text("category", "Category", 250), text("subcategory", "Sub-Category", 250),
    number("percentcomplete", "Percent Complete", 0, 100),
    uid("crmtaskassigneduniqueid", "Task Assigned Unique Id"),
    states=(os_.TASK_STATE, os_.TASK_STATUS),
    description="Generic activity representing work needed to be done.",
)

e = On("email", activity=True)
EMAIL = e.table(
    "emails", "Email", "Email Messages", "activityid", "subject",
    *common(e, 800, "None", 1073741823),
    direction(),
    text("sender", "From", 250), text("torecipients", "To Recipients", 500),
    text("category", "Category", 250), text("subcategory", "Sub-Category", 250),
    flag("deliveryreceiptrequested", "Delivery Receipt Requested"),
    flag("readreceiptrequested", "Read Receipt Requested"),
    text("messageid", "Message ID", 320),
    e.lookup("emailsender", "Sender", "account", "contact", "queue", "systemuser", read_only=True,
             navs=("emailsender_account", "emailsender_contact", "emailsender_queue", "emailsender_systemuser")),
    e.lookup("sendersaccount", "Senders Account", "account", read_only=True, navs=("sendersaccount",)),
    number("attachmentcount", "Attachment Count", 0, read_only=True),
    e.lookup("parentactivityid", "Parent Activity Id", "email", navs=("parentactivityid",)),
    e.lookup("correlatedactivityid", "Correlated Activity Id", "email", navs=("CorrelatedActivityId_Email",)),
    text("conversationindex", "Conversation Index (Hash)", 2048, read_only=True),
    text("inreplyto", "In Reply To Message", 320, read_only=True),
    memo("safedescription", "Safe Description", 1073741823, read_only=True),
    flag("isemailfollowed", "Followed", read_only=True),
    states=(os_.EMAIL_STATE, os_.EMAIL_STATUS),
    description="Activity that is delivered using email protocols.",
)

p = On("phonecall", activity=True)
PHONECALL = p.table(
    "phonecalls", "Phone Call", "Phone Calls", "activityid", "subject",
    *common(p),
    text("phonenumber", "Phone Number", 200), direction(),
    text("category", "Category", 250), text("subcategory", "Sub-Category", 250),
    states=(os_.PHONECALL_STATE, os_.PHONECALL_STATUS),
    description="Activity to track a telephone call.",
)

ag = On("appointment", activity=True)
APPOINTMENT = ag.table(
    "appointments", "Appointment", "Appointments", "activityid", "subject",
    *common(ag, description=1048576),
    text("location", "Location", 200), flag("isalldayevent", "All Day Event"),
    text("category", "Category", 250), text("subcategory", "Sub-Category", 250),
    states=(os_.APPOINTMENT_STATE, os_.APPOINTMENT_STATUS),
    description="Commitment representing a time interval with start/end times and duration.",
)

ACTIVITY_TABLES = ("activitypointer", "task", "email", "phonecall", "appointment", "msdyn_ocliveworkitem",
                   "msdyn_ocsession")
PARTIES = ("account", "contact", "lead", "queue", "systemuser")
pa = On("activityparty")
ACTIVITYPARTY = pa.table(
    "activityparties", "Activity Party", "Activity Parties", "activitypartyid", "partyidname",
    text("partyidname", "Party Name", 400, read_only=True),
    pa.lookup("activityid", "Activity", *ACTIVITY_TABLES),
    pa.lookup("partyid", "Party", *PARTIES),
    entity_name("partyobjecttypecode", "Party Type"),
    choice("participationtypemask", "Participation Type", os_.choices(
        "activityparty_participationtypemask", "1 Sender; 2 To Recipient; 3 CC Recipient; 4 BCC Recipient; "
        "5 Required attendee; 6 Optional attendee; 7 Organizer; 8 Regarding; 9 Owner; 10 Resource; 11 Customer; "
        "12 Chat Participant; 13 Related", True), required="SystemRequired"),
    text("addressused", "Address", 200), text("unresolvedpartyname", "Unresolved Party Name", 200),
    double("effort", "Effort", 0, 1000000000, 2),
    text("exchangeentryid", "Exchange Entry", 1024), text("externalid", "External Id", 100),
    text("externalidtype", "External Id Type", 100),
    number("addressusedemailcolumnnumber", "Email column number of party", 0, read_only=True),
    *(flag(col, label, read_only=True) for col, label in (
        ("donotemail", "Do not allow Emails"), ("donotfax", "Do not allow Faxes"),
        ("donotphone", "Do not allow Phone Calls"), ("donotpostalmail", "Do not allow Mails"),
        ("ispartydeleted", "Is Party Deleted"))),
    when("scheduledstart", "Scheduled Start", read_only=True), when("scheduledend", "Scheduled End", read_only=True),
    choice("instancetypecode", "Appointment Type", INSTANCE_TYPE, read_only=True),
    pa.lookup("ownerid", "Owner", "systemuser", "team", read_only=True, navs=("ownerid", "ownerid")),
    pa.lookup("owninguser", "Owning User", "systemuser", read_only=True),
    pa.lookup("owningbusinessunit", "Owning Business Unit", "businessunit", read_only=True),
    ownership="None",
    description="Person or group associated with an activity. An activity can have multiple activity parties.",
)

NOTE_TARGETS = ("account", "contact", "lead", "incident", "task", "email", "phonecall", "appointment",
                "msdyn_ocliveworkitem", "msdyn_transcript")
n = On("annotation")
ANNOTATION = n.table(
    "annotations", "Note", "Notes", "annotationid", "subject",
    text("subject", "Title", 500, "ApplicationRequired"),
    memo("notetext", "Description", 100000),
    flag("isdocument", "Is Document", required="SystemRequired"),
    text("filename", "File Name", 255), text("mimetype", "Mime Type", 256),
    memo("documentbody", "Document", 1073741823),
    number("filesize", "File Size (Bytes)", 0, 1000000000, read_only=True),
    text("langid", "Language ID", 2), text("stepid", "Step Id", 32),
    n.lookup("objectid", "Regarding", *NOTE_TARGETS),
    entity_name("objecttypecode", "Object Type"),
    flag("isprivate", "Is Private"),
    description="Note that is attached to one or more objects, including other notes.",
)

