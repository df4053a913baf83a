"""Omnichannel: the conversation (msdyn_ocliveworkitem, conversation-entity.md), session, session participant, work
stream, transcript, conversation message block, context item, and the legacy Omnichannel queue
(schema-breadth.md §6.21-6.27). The conversation's and session's columns keep the order the seeder writes them in."""
from __future__ import annotations

from .. import optionsets as os_
from ..model import CUSTOMER, ENTITYNAME, MULTISELECT, PICKLIST, STRING, Attribute, Table
from .columns import On, choice, decimal, flag, key, memo, number, state_model, text, when

ACTIVE = os_.RECORD_STATE, os_.RECORD_STATUS

T = "msdyn_ocliveworkitem"
cv = On(T, activity=True)
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
        cv.lookup("msdyn_activeagentid", "Active agent", "systemuser",
                  description="The agent currently assigned, or the last agent for a closed conversation."),
        cv.lookup("msdyn_liveworkstreamid", "Work stream", "msdyn_liveworkstream"),
        cv.lookup("msdyn_lastsessionid", "Last agent session", "msdyn_ocsession"),
        cv.lookup("msdyn_queueid", "Queue (legacy)", "msdyn_omnichannelqueue"),
        cv.lookup("msdyn_cdsqueueid", "Queue", "queue"),
        cv.lookup("msdyn_customer", "Customer", "account", "contact", type_=CUSTOMER,
                  navs=("msdyn_customer_msdyn_ocliveworkitem_account", "msdyn_customer_msdyn_ocliveworkitem_contact")),
        cv.lookup("msdyn_issueid", "Issue", "incident", navs=("msdyn_IssueId_msdyn_ocliveworkitem",)),
        cv.lookup("regardingobjectid", "Regarding", "account", "contact", "incident"),
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
        *cv.bookkeeping(compact=True),
    ),
)

SESSION_REASONS = (
    "192350000 Default; 192350001 AgentTransfer; 192350002 QueueTransfer; 192350003 PreChatSurvey; "
    "192350004 PostchatSurvey; 192350005 UserAccept; 192350006 AutoAccept; 192350007 Closed; "
    "192350008 AgentInviteRejected; 192350009 AgentInviteTimeout; 192350010 AgentDisconnected; "
    "192350011 AgentTimeout; 192350012 AgentTransferred; 192350013 CustomerTimeout; 192350014 CustomerDisconnect; "
    "192350015 SessionTimeout; 192350016 Escalated; 192350017 Rejected; 192350018 TimedOut; 192350019 Accepted; "
    "192350020 AutoAccepted; 192350021 Disconnect; 192350022 Timeout; 192350023 End; 192350024 BotTransferSession; "
    "192350025 BotEndConversation; 192350026 AssignToAgentBySupervisor; 192350027 AssignToQueueBySupervisor; "
    "192350028 CustomerRejoin; 192350029 CustomerEndConversation; 192350030 AgentEndConversation; "
    "192350031 SupervisorTransferToAgent; 192350032 AgentEndConsult; 192350033 ForceClose; "
    "192350034 OverflowQueueTransfer; 192350035 OverflowEndConversation; 192350036 OverflowAssignToQueue; "
    "192350037 SessionEndAfterWrapUp; 192350038 ConversationExpired; 192350039 Consult; 192350040 AgentMonitor; "
    "192350041 AgentConversationJoin; 192350042 Preview; 192350049 CustomerReconnect")
CLOSURE_REASONS = (
    "192350000 Default; 192350001 AgentReject; 192350002 AgentTimeout; 192350003 ConversationTimeout; "
    "192350004 AgentClosed; 192350005 ConversationClosed; 192350006 AgentTransfered; 192350007 AgentDisconnected; "
    "192350008 AgentReRouted; 192350009 VirtualAgentClosed; 192350010 AgentTransferToQueue; "
    "192350011 SupervisorAssignToQueue; 192350012 SupervisorTransferToAgent; 192350013 SystemReject; "
    "192350014 ForceClose; 192350015 OverflowQueueTransfer; 192350016 OverflowEndConversation; "
    "192350017 AddAgentFailed; 192350018 AutoClose; 192350019 SecondaryChannelClosed; 192350020 CustomerDisconnect; "
    "192350021 AgentEndConversation; 192350022 CustomerEndConversation; 192350023 QueueTransfer; "
    "192350024 InqueueOverflowQueueTransfer; 192350025 InqueueOverflowEndConversation; 192350026 BotTransferToAgent; "
    "192350027 BotEndConversation; 192350028 BotCallFailureEndConversation; 192350029 BotCallFailureExternalTransfer; "
    "192350030 BotCallFailurePromptAndEscalate; 192350031 BotCallFailureEscalate")
EVENT_REASON = os_.choices("msdyn_occallsessioneventreasons", SESSION_REASONS, True)

S = "msdyn_ocsession"
se = On(S, activity=True)
SESSION = Table(
    S, "msdyn_ocsessions", "Session", "Sessions", "activityid", "subject", is_activity=True,
    description="Session for interacting with a customer.",
    attributes=(
        key("activityid", "Activity"),
        text("subject", "Subject", 200, "ApplicationRequired"),
        se.lookup("msdyn_liveworkitemid", "Conversation", "msdyn_ocliveworkitem"),
        Attribute("msdyn_channel", PICKLIST, "Channel", option_set=os_.STREAM_SOURCE),
        se.lookup("msdyn_activeagentid", "Agent", "systemuser"),
        se.lookup("msdyn_cdsqueueid", "Queue Id", "queue"),
        when("msdyn_sessioncreatedon", "Session created on"),
        when("msdyn_agentassignedon", "Agent assigned on"),
        when("msdyn_agentacceptedon", "Agent accepted on"),
        when("msdyn_sessionclosedon", "Session closed on"),
        Attribute("activitytypecode", ENTITYNAME, "Activity Type", valid_for_create=False, valid_for_update=False,
                  default=S),
        *state_model(os_.SESSION_STATE, os_.SESSION_STATUS),
        text("msdyn_sessionid", "Session Id", 100),
        when("msdyn_wrapupinitiatedon", "Wrap-up initiated on"),
        when("msdyn_queueassignedon", "Queue assigned on"), when("msdyn_sessionmodifiedon", "Session modified on"),
        number("msdyn_sessionwrapuptimeinseconds", "Session wrap-up time (seconds)"),
        number("msdyn_sessionactivewrapuptimeinseconds", "Session active wrap-up time (seconds)"),
        choice("msdyn_botengagementmode", "Bot engagement mode", "192350000 Default; 192350001 PreConversation; "
               "192350002 PostConverstation; 192350003 OffBusinessHour", table=S),
        choice("msdyn_routingfailurestage", "Routing failure stage", "10 None; 1000 Record Identification; "
               "2000 Demand Classification", default=10, table=S),
        choice("msdyn_sessioncreationreason", "Session creation reason", EVENT_REASON),
        choice("msdyn_queueassignedreason", "Queue assigned reason", EVENT_REASON),
        choice("msdyn_closurereason", "Closure reason",
               os_.choices("msdyn_ocsession_msdyn_closurereason", CLOSURE_REASONS, True)),
        choice("msdyn_state", "State (Deprecated)", "192350000 Default; 192350001 Active; 192350002 Closed; "
               "192350003 New", table=S),
        choice("deliveryprioritycode", "Delivery Priority", os_.choices(
            "activitypointer_deliveryprioritycode", os_.LOW_NORMAL_HIGH, True), default=1),
        memo("description", "Description", 2000),
        text("exchangeitemid", "Exchange Item ID", 200), text("exchangeweblink", "Exchange WebLink", 1250),
        flag("isbilled", "Is Billed"), flag("ismapiprivate", "Is Private"),
        flag("isworkflowcreated", "Is Workflow Created"), flag("leftvoicemail", "Left Voice Mail"),
        *se.bookkeeping(),
    ),
)

w = On("msdyn_liveworkstream")
PRESENCE = os_.choices("msdyn_basepresencestatus", "192360000 Available; 192360001 Busy; 192360002 Busy - DND; "
                       "192360003 Away; 192360004 Offline", True)
WORKSTREAM = w.table(
    "msdyn_liveworkstreams", "Work Stream", "Work Streams", "msdyn_liveworkstreamid", "msdyn_name",
    text("msdyn_name", "Name", 100, "ApplicationRequired"),
    choice("msdyn_streamsource", "Channel", os_.STREAM_SOURCE, required="ApplicationRequired"),
    choice("msdyn_mode", "Work distribution mode", os_.WORK_DISTRIBUTION_MODE, default=192350000),  # kept as shipped
    number("msdyn_capacityrequired", "Capacity", required="ApplicationRequired"),
    choice("msdyn_workdistributionmode", "Work distribution mode", os_.choices(
        "msdyn_workdistributionmode", "192350000 Push; 192350001 Pick", True), default=192350000,
        required="ApplicationRequired"),
    choice("msdyn_direction", "Direction", "0 Inbound; 1 Outbound; 2 Direct Inbound; 3 Direct Outbound; "
           "4 ProactiveOutbound", default=0, required="ApplicationRequired", table="msdyn_liveworkstream"),
    choice("msdyn_capacityformat", "Capacity format", "192350000 Unit based; 192360000 Profile based",
           default=192350000, table="msdyn_liveworkstream"),
    choice("msdyn_matchinglogic", "Matching logic", "192350000 Exact Match; 192350001 Closest Match",
           table="msdyn_liveworkstream"),
    choice("msdyn_notification", "Notification", "100000000 Directly open session; 100000001 Screen pop with "
           "timeout; 100000002 Screen pop with decline", default=100000001, table="msdyn_liveworkstream"),
    choice("msdyn_screenpoptimeout_optionset", "Screen pop timeout", "30 30; 60 60; 90 90; 120 120; 150 150; "
           "180 180; 210 210; 240 240; 270 270; 300 300", default=120, table="msdyn_liveworkstream"),
    Attribute("msdyn_allowedpresences", MULTISELECT, "Allowed presences", option_set=PRESENCE,
              required="ApplicationRequired"),
    Attribute("msdyn_blockcapacityforconsult", MULTISELECT, "Block capacity for consult", option_set=os_.choices(
        "msdyn_liveworkstream_msdyn_blockcapacityforconsult", "192350001 Chat consult; 192350002 Voice consult")),
    number("msdyn_maxconcurrentconnection", "Maximum concurrent sessions", 1, required="Recommended"),
    number("msdyn_autocloseafterinactivity", "Auto-close after inactivity", required="ApplicationRequired"),
    *(number(c, d) for c, d in (
        ("msdyn_assignworkitemafterdecline", "Assign work item after decline"),
        ("msdyn_followupafterwaiting", "Follow up after waiting"),
        ("msdyn_handlingtimethreshold", "Handling time threshold"),
        ("msdyn_waitingtimethreshold", "Waiting time threshold"),
        ("msdyn_screenpoptimeout", "Screen pop timeout (seconds)"),
        ("msdyn_durationtoqualifyforlastagent", "Duration to qualify for last agent"))),
    *(number(c, d, 0, 43200) for c, d in (
        ("msdyn_blockcapacityforwrapup", "Block capacity for wrap up"),
        ("msdyn_blockcapacityforwrapupinseconds", "Block capacity for wrap up (seconds)"),
        ("msdyn_customerdisconnectholddurationforopenconversation", "Hold duration after customer disconnect"))),
    w.lookup("msdyn_defaultqueue", "Default queue", "queue", required="Recommended"),
    w.lookup("msdyn_outboundqueueid", "Outbound queue", "queue"), w.lookup("msdyn_bot_queue", "Bot queue", "queue"),
    w.lookup("msdyn_bot_user", "Bot user", "systemuser"),
    text("msdyn_bot_rule", "Bot rule", 100), text("msdyn_fallbacklanguage", "Fallback language", 100),
    text("msdyn_sessiontemplate_default", "Default session template", 200),
    text("msdyn_notificationtemplate_agent_dial", "Agent dial notification template", 200),
    text("msdyn_notificationtemplate_incoming_auth", "Incoming authenticated notification template", 200),
    text("msdyn_notificationtemplate_pre_dial", "Pre-dial notification template", 200),
    memo("msdyn_recordidentificationrule", "Record identification rule", 1048576),
    memo("msdyn_recordidentificationvalidationrule", "Record identification validation rule", 1048576),
    *(flag(c, d) for c, d in (
        ("msdyn_alwaysassigntolastagent", "Always assign to last agent"),
        ("msdyn_enableagentaffinity", "Enable agent affinity"),
        ("msdyn_enableselectingfrompushbasedworkstreams", "Enable selecting from push-based work streams"),
        ("msdyn_intentfeatureenabled", "Intent feature enabled"),
        ("msdyn_isconversationcounterenabled", "Conversation counter enabled"), ("msdyn_isdefault", "Is default"),
        ("msdyn_isicdenabled", "ICD enabled"),
        ("msdyn_requiredispositioncodeforworkstreamconversations", "Require disposition code"))),
    flag("msdyn_enableautomatedmessages", "Enable automated messages", default=True),
    flag("msdyn_useglobalsettingsforrequiringdispositioncode", "Use global disposition settings", default=True),
    flag("msdyn_restrictdownloadrecording", "Restrict download of recording", required="ApplicationRequired"),
    flag("msdyn_restrictdownloadtranscript", "Restrict download of transcript", required="ApplicationRequired"),
    number("msdyn_skillattachmentrulescount", "Skill attachment rules count", read_only=True),
    states=ACTIVE,
    description="Work Stream",
)

QUEUE_OC = On("msdyn_omnichannelqueue").table(
    "msdyn_omnichannelqueues", "Omnichannel Queue", "Omnichannel Queues", "msdyn_omnichannelqueueid", "msdyn_name",
    states=ACTIVE,
)

sp = On("msdyn_sessionparticipant")
SESSIONPARTICIPANT = sp.table(
    "msdyn_sessionparticipants", "Session participant", "Session participants", "msdyn_sessionparticipantid",
    "msdyn_name",
    text("msdyn_name", "Name", 200, "ApplicationRequired"),
    sp.lookup("msdyn_omnichannelsession", "Session", "msdyn_ocsession"),
    sp.lookup("msdyn_agentid", "Agent", "systemuser"), sp.lookup("msdyn_cdsqueueid", "Queue", "queue"),
    text("msdyn_activedirectoryuserid", "Active Directory user id", 100),
    choice("msdyn_mode", "Mode", os_.choices("msdyn_sessionparticipant_msdyn_mode", "192350002 Primary; "
                                             "192350003 Consult; 192350004 Monitor; 192350005 Preview", True)),
    choice("msdyn_consultmode", "Consult mode", os_.choices("msdyn_consultmodetype", "0 Chat; 1 Chat And Voice; "
                                                            "2 Voice", True)),
    choice("msdyn_conversationaccess", "Conversation access", os_.choices("msdyn_conversationaccesstype",
                                                                          "0 Default; 1 Public; 2 Private", True)),
    choice("msdyn_externalparticipantchanneltype", "External participant channel type", "426120000 Phone Number",
           table="msdyn_sessionparticipant"),
    text("msdyn_externalparticipantchannel", "External participant channel", 100),
    text("msdyn_assignreason", "Assign reason", 100, "ApplicationRequired"),
    text("msdyn_leftonreason", "Left on reason", 100),
    *(when(c, d) for c, d in (
        ("msdyn_addedon", "Added on"), ("msdyn_modifiedon", "Modified on"), ("msdyn_joinedon", "Joined on"),
        ("msdyn_lefton", "Left on"), ("msdyn_lastupdatedon", "Last updated on"),
        ("msdyn_startactivetime", "Start active time"), ("msdyn_startactivewrapuptime", "Start active wrap-up time"),
        ("msdyn_startholdtime", "Start hold time"), ("msdyn_startidletime", "Start idle time"),
        ("msdyn_startinactivetime", "Start inactive time"), ("msdyn_starttalktime", "Start talk time"))),
    *(number(c, d) for c, d in (
        ("msdyn_activechattime", "Active chat time"), ("msdyn_activetime", "Active time"),
        ("msdyn_activewrapuptime", "Active wrap-up time"), ("msdyn_holdtime", "Hold time"),
        ("msdyn_idletime", "Idle time"), ("msdyn_inactivetime", "Inactive time"), ("msdyn_talktime", "Talk time"))),
    flag("msdyn_iscapacityblocking", "Is capacity blocking"),
    states=ACTIVE,
    description="Participants of an Omnichannel session.",
)

tr = On("msdyn_transcript")
TRANSCRIPT = tr.table(
    "msdyn_transcripts", "Transcript", "Transcripts", "msdyn_transcriptid", "msdyn_name",
    text("msdyn_name", "Name", 100, "ApplicationRequired"),
    tr.lookup("msdyn_liveworkitemidid", "Conversation", "msdyn_ocliveworkitem", navs=("msdyn_LiveWorkItemIdId",)),
    tr.lookup("msdyn_transcripttarget", "Transcript target", "appointment", "phonecall"),
    text("msdyn_applicationid", "Application Id", 36), text("msdyn_transcripturi", "Transcript URI", 2000),
    states=ACTIVE,
    description="Transcript of an Omnichannel conversation.",
)

mb = On("msdyn_conversationmessageblock")
MESSAGEBLOCK = mb.table(
    "msdyn_conversationmessageblocks", "Conversation message block", "Conversation message blocks",
    "msdyn_conversationmessageblockid", "msdyn_name",
    text("msdyn_name", "Name", 100, "ApplicationRequired"),
    mb.lookup("msdyn_ocliveworkitemid", "Conversation Id", "msdyn_ocliveworkitem"),
    mb.lookup("msdyn_agentresponsesessionid", "Agent response session", "msdyn_ocsession"),
    mb.lookup("msdyn_customermessagesessionid", "Customer message session", "msdyn_ocsession"),
    mb.lookup("msdyn_agentid", "Agent", "systemuser"),
    when("msdyn_agentmessagetime", "Agent message time"),
    when("msdyn_customermessagetimestamp", "Customer message timestamp"),
    *(decimal(c, d, 2, -100000000000, 100000000000) for c, d in (
        ("msdyn_agentresponsetimeadjforoh", "Agent response time (operating hours)"),
        ("msdyn_agentresponsetimenotadjforoh", "Agent response time"),
        ("msdyn_responsetimeadjforoh", "Response time (operating hours)"),
        ("msdyn_responsetimenotadjforoh", "Response time"))),
    *(number(c, d) for c, d in (
        ("msdyn_inboundmessagecountwithinoh", "Inbound messages within operating hours"),
        ("msdyn_inboundmessagecountoutsideoh", "Inbound messages outside operating hours"),
        ("msdyn_outboundmessagecountwithinoh", "Outbound messages within operating hours"),
        ("msdyn_outboundmessagecountoutsideoh", "Outbound messages outside operating hours"))),
    flag("msdyn_isfirstresponsetime", "Is first response time"),
    states=ACTIVE,
    description="Blocks of messages of a conversation, with response times.",
)

ci = On("msdyn_ocliveworkitemcontextitem")
CONTEXTITEM = ci.table(
    "msdyn_ocliveworkitemcontextitems", "Context item value", "Context item values",
    "msdyn_ocliveworkitemcontextitemid", "msdyn_name",
    text("msdyn_name", "Name", 100, "ApplicationRequired"),
    text("msdyn_value", "Value", 4000),
    choice("msdyn_datatype", "Data type", os_.choices("msdyn_ocliveworkitemcontextitem_msdyn_datatype",
                                                      "192350000 Text; 192350001 Number; 192350100 Entity Reference",
                                                      True)),
    flag("msdyn_isdisplayable", "Is displayable"),
    ci.lookup("msdyn_ocliveworkitemid", "Conversation", "msdyn_ocliveworkitem"),
    states=ACTIVE,
    description="Context variable values of a conversation.",
)
