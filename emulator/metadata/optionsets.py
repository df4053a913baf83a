"""Option sets (choices) with the values and labels documented for Omnichannel (conversation-entity.md)."""
from .model import Option, OptionSet


def _options(*pairs: tuple[int, str]) -> tuple[Option, ...]:
    return tuple(Option(v, label) for v, label in pairs)


STREAM_SOURCE = OptionSet("msdyn_streamsource", _options(
    (19241000, "Microsoft Teams"), (192300000, "WhatsApp"), (192310000, "LINE"), (192320000, "WeChat"),
    (192330000, "Facebook"), (192340000, "SMS"), (192350000, "Entity Records"), (192350001, "Twitter"),
    (192350002, "Custom"), (192360000, "Live chat"), (192370000, "Voice"), (192380000, "Video"),
    (192390000, "Co-browse"), (192400000, "Screen sharing"), (192440000, "Voice call"),
    (192450000, "Apple Messages for Business"), (192450001, "Google's Business Messages"),
))

LIVEWORKITEM_STATE = OptionSet("msdyn_ocliveworkitem_statecode", (
    Option(0, "Open", default_status=1), Option(1, "Closed", default_status=4),
    Option(2, "Resolved", default_status=6), Option(3, "Scheduled", default_status=7),
    Option(4, "Wrap-up (Deprecated)", default_status=5),
), is_global=False)

# Wrap-up (5) belongs to Open (0): statecode 4 is deprecated (conversation-entity.md 1.3).
LIVEWORKITEM_STATUS = OptionSet("msdyn_ocliveworkitem_statuscode", (
    Option(1, "Open", state=0), Option(2, "Active", state=0), Option(3, "Waiting", state=0),
    Option(4, "Closed", state=1), Option(5, "Wrap-up", state=0), Option(6, "Resolved", state=2),
    Option(7, "Scheduled", state=3),
), is_global=False)

STATUS_CHANGE_REASON = OptionSet("msdyn_statuschangereason", _options(
    (192350001, "AwaitingAgentAssignment"), (192350002, "AwaitingAgentAcceptance"), (192350003, "InConversation"),
    (192350004, "AwaitingCustomerResponse"), (192350005, "AgentMovedToWrapUp"),
    (192350006, "CustomerDisconnectedOrLeftActiveConversation"), (192350007, "CutomerMovedToWrapUp"),
    (192350008, "ConversationEndedByAgent"), (192350009, "AutoClosedFromWaitingState"),
    (192350010, "AutoClosedBySystem"), (192350011, "ClosedDueToOverflow"),
    (192350012, "CustomerDisconnectedOrLeftOpenConversation"), (192350013, "ConversationEndedByBot"),
    (192350014, "ClosedDueToFailure"), (192350015, "ForceClosedBySupervisor"),
    (192350016, "ClosedInDataverseDirectlyByAdmin"), (192350017, "AssignedBySupervisor"),
))

WORK_DISTRIBUTION_MODE = OptionSet("msdyn_workstreamworkdistributionmode", _options(
    (192350000, "Push"), (192350001, "Pick"),
))

SENTIMENT_LABEL = OptionSet("msdyn_customersentimentlabel", _options(
    (0, "N/A"), (7, "Very negative"), (8, "Negative"), (9, "Slightly negative"), (10, "Neutral"),
    (11, "Slightly positive"), (12, "Positive"), (13, "Very positive"),
))

PRIORITY = OptionSet("activitypointer_prioritycode", _options((0, "Low"), (1, "Normal"), (2, "High")))

# Activity tables other than the conversation share the classic activity state model.
ACTIVITY_STATE = OptionSet("activity_statecode", (
    Option(0, "Open", default_status=1), Option(1, "Completed", default_status=2),
    Option(2, "Canceled", default_status=3),
), is_global=False)
ACTIVITY_STATUS = OptionSet("activity_statuscode", (
    Option(1, "Open", state=0), Option(2, "Completed", state=1), Option(3, "Canceled", state=2),
), is_global=False)

# Ordinary (non-activity) tables: Active / Inactive.
RECORD_STATE = OptionSet("statecode", (
    Option(0, "Active", default_status=1), Option(1, "Inactive", default_status=2),
), is_global=False)
RECORD_STATUS = OptionSet("statuscode", (
    Option(1, "Active", state=0), Option(2, "Inactive", state=1),
), is_global=False)

QUEUE_TYPE = OptionSet("queue_msdyn_queuetype", _options((192350000, "Messaging"), (192350001, "Entity")))


# -- the standard tables (schema-breadth.md §5.5 and §6) --------------------------------------------------------
def choices(name: str, spec: str, is_global: bool = False) -> OptionSet:
    """An option set from `"1 Label; 2 Other label"` (labels may hold commas, so items are split on `;`)."""
    pairs = []
    for item in spec.split(";"):
        value, _, label = item.strip().partition(" ")
        pairs.append((int(value), label.strip()))
    return OptionSet(name, _options(*pairs), is_global=is_global)


def state_status(table: str, states: str, statuses: str) -> tuple[OptionSet, OptionSet]:
    """A state/status pair from `"0 Active 1; 1 Inactive 2"` (value, label, default status) and
    `"1 Active 0; 2 Inactive 1"` (value, label, state)."""
    def parse(spec: str) -> list[tuple[int, str, int]]:
        out = []
        for item in spec.split(";"):
            words = item.split()
            out.append((int(words[0]), " ".join(words[1:-1]), int(words[-1])))
        return out

    state = OptionSet(f"{table}_statecode", tuple(Option(v, label, default_status=d) for v, label, d in parse(states)),
                      is_global=False)
    status = OptionSet(f"{table}_statuscode", tuple(Option(v, label, state=s) for v, label, s in parse(statuses)),
                       is_global=False)
    return state, status


DEFAULT_VALUE = "1 Default Value"
INDUSTRY = (
    "1 Accounting; 2 Agriculture and Non-petrol Natural Resource Extraction; 3 Broadcasting Printing and Publishing; "
    "4 Brokers; 5 Building Supply Retail; 6 Business Services; 7 Consulting; 8 Consumer Services; "
    "9 Design, Direction and Creative Management; 10 Distributors, Dispatchers and Processors; "
    "11 Doctor's Offices and Clinics; 12 Durable Manufacturing; 13 Eating and Drinking Places; "
    "14 Entertainment Retail; 15 Equipment Rental and Leasing; 16 Financial; 17 Food and Tobacco Processing; "
    "18 Inbound Capital Intensive Processing; 19 Inbound Repair and Services; 20 Insurance; 21 Legal Services; "
    "22 Non-Durable Merchandise Retail; 23 Outbound Consumer Service; 24 Petrochemical Extraction and Distribution; "
    "25 Service Retail; 26 SIG Affiliations; 27 Social Services; 28 Special Outbound Trade Contractors; "
    "29 Specialty Realty; 30 Transportation; 31 Utility Creation and Distribution; 32 Vehicle Retail; 33 Wholesale")
CUSTOMER_TYPE = ("1 Competitor; 2 Consultant; 3 Customer; 4 Investor; 5 Partner; 6 Influencer; 7 Press; 8 Prospect; "
                 "9 Reseller; 10 Supplier; 11 Vendor; 12 Other")
OWNERSHIP = "1 Public; 2 Private; 3 Subsidiary; 4 Other"
PAYMENT_TERMS = "1 Net 30; 2 2% 10, Net 30; 3 Net 45; 4 Net 60"
CONTACT_METHOD = "1 Any; 2 Email; 3 Phone; 4 Fax; 5 Mail"
APPOINTMENT_DAY = "0 Sunday; 1 Monday; 2 Tuesday; 3 Wednesday; 4 Thursday; 5 Friday; 6 Saturday"
APPOINTMENT_TIME = "1 Morning; 2 Afternoon; 3 Evening"
ADDRESS_TYPE = "1 Bill To; 2 Ship To; 3 Primary; 4 Other"
FREIGHT_TERMS = "1 FOB; 2 No Charge"
LOW_NORMAL_HIGH = "0 Low; 1 Normal; 2 High"

ACCOUNT_STATE, ACCOUNT_STATUS = state_status("account", "0 Active 1; 1 Inactive 2", "1 Active 0; 2 Inactive 1")
CONTACT_STATE, CONTACT_STATUS = state_status("contact", "0 Active 1; 1 Inactive 2", "1 Active 0; 2 Inactive 1")
LEAD_STATE, LEAD_STATUS = state_status(
    "lead", "0 Open 1; 1 Qualified 3; 2 Disqualified 4",
    "1 New 0; 2 Contacted 0; 3 Qualified 1; 4 Lost 2; 5 Cannot Contact 2; 6 No Longer Interested 2; 7 Canceled 2")
INCIDENT_STATE, INCIDENT_STATUS = state_status(
    "incident", "0 Active 1; 1 Resolved 5; 2 Canceled 6",
    "1 In Progress 0; 2 On Hold 0; 3 Waiting for Details 0; 4 Researching 0; 5 Problem Solved 1; "
    "1000 Information Provided 1; 6 Canceled 2; 2000 Merged 2")
TASK_STATE, TASK_STATUS = state_status(
    "task", "0 Open 2; 1 Completed 5; 2 Canceled 6",
    "2 Not Started 0; 3 In Progress 0; 4 Waiting on someone else 0; 7 Deferred 0; 5 Completed 1; 6 Canceled 2")
EMAIL_STATE, EMAIL_STATUS = state_status(
    "email", "0 Open 1; 1 Completed 2; 2 Canceled 5",
    "1 Draft 0; 8 Failed 0; 2 Completed 1; 3 Sent 1; 4 Received 1; 6 Pending Send 1; 7 Sending 1; 5 Canceled 2")
PHONECALL_STATE, PHONECALL_STATUS = state_status(
    "phonecall", "0 Open 1; 1 Completed 2; 2 Canceled 3", "1 Open 0; 2 Made 1; 4 Received 1; 3 Canceled 2")
APPOINTMENT_STATE, APPOINTMENT_STATUS = state_status(
    "appointment", "0 Open 1; 1 Completed 3; 2 Canceled 4; 3 Scheduled 5",
    "1 Free 0; 2 Tentative 0; 3 Completed 1; 4 Canceled 2; 5 Busy 3; 6 Out of Office 3")
SESSION_STATE, SESSION_STATUS = state_status(
    "msdyn_ocsession", "0 Open 1; 1 Completed 2; 2 Canceled 3; 3 Scheduled 4",
    "1 Open 0; 2 Completed 1; 3 Canceled 2; 4 Scheduled 3")
# activitypointer: the generic activity labels (the concrete row's values pass through; labels unverified, §6.13)
POINTER_STATE, POINTER_STATUS = state_status(
    "activitypointer", "0 Open 1; 1 Completed 2; 2 Canceled 3; 3 Scheduled 4",
    "1 Open 0; 2 Completed 1; 3 Canceled 2; 4 Scheduled 3")
