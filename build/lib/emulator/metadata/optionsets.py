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
