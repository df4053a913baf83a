"""Issue 16, the standard tables: every table of schema-breadth.md §6 with the columns, types, options and
state/status pairs the spec lists (an expected list kept here, independent of the code), Dataverse's navigation
names (relationships.md §2), computed and read-only columns over HTTP, and /activitypointers listing every
activity type through the one query path."""
from __future__ import annotations

import pytest

from emulator import metadata
from emulator.metadata import model as m

from .conftest import API

# table -> {column: type} as schema-breadth.md §6 lists them (Money columns are Decimals here, docs/decisions.md).
S, MEMO, INT, BOOL, DT, PL, LK, UID, DEC, DBL, EN = (m.STRING, m.MEMO, m.INTEGER, m.BOOLEAN, m.DATETIME, m.PICKLIST,
                                                    m.LOOKUP, m.UNIQUEIDENTIFIER, m.DECIMAL, m.DOUBLE, m.ENTITYNAME)
ACTIVITY_COMMON = {"activityid": UID, "subject": S, "description": MEMO, "activitytypecode": EN,
                   "regardingobjectid": LK, "scheduledstart": DT, "scheduledend": DT, "actualstart": DT,
                   "actualend": DT, "actualdurationminutes": INT, "scheduleddurationminutes": INT, "prioritycode": PL,
                   "deliveryprioritycode": PL, "isbilled": BOOL, "isworkflowcreated": BOOL, "ismapiprivate": BOOL,
                   "leftvoicemail": BOOL, "isregularactivity": BOOL, "instancetypecode": PL, "community": PL,
                   "exchangeitemid": S, "exchangeweblink": S, "activityadditionalparams": MEMO, "sortdate": DT,
                   "senton": DT, "deliverylastattemptedon": DT, "postponeactivityprocessinguntil": DT,
                   "seriesid": UID, "onholdtime": INT, "lastonholdtime": DT, "processid": UID, "stageid": UID,
                   "traversedpath": S, "exchangerate": DEC, "statecode": m.STATE, "statuscode": m.STATUS}
BOOKKEEPING = {"versionnumber": m.BIGINT, "createdon": DT, "modifiedon": DT, "createdby": LK, "modifiedby": LK,
               "createdonbehalfby": LK, "modifiedonbehalfby": LK, "overriddencreatedon": DT,
               "importsequencenumber": INT, "timezoneruleversionnumber": INT, "utcconversiontimezonecode": INT}
OWNER = {"ownerid": m.OWNER, "owninguser": LK, "owningteam": LK, "owningbusinessunit": LK}
ADDRESS = {f"address1_{c}": S for c in ("line1", "line2", "line3", "city", "country", "county", "fax", "telephone1",
                                        "stateorprovince", "postalcode", "upszone")} | {
    "address1_utcoffset": INT, "address1_latitude": DBL, "address1_longitude": DBL, "address1_addresstypecode": PL,
    "address1_freighttermscode": PL, "address1_addressid": UID, "address1_composite": MEMO,
    "address2_composite": MEMO}
EXPECTED = {
    "account": {"accountid": UID, "name": S, "accountnumber": S, "accountcategorycode": PL,
                "accountclassificationcode": PL, "accountratingcode": PL, "businesstypecode": PL,
                "customersizecode": PL, "shippingmethodcode": PL, "territorycode": PL, "customertypecode": PL,
                "industrycode": PL, "ownershipcode": PL, "paymenttermscode": PL, "preferredcontactmethodcode": PL,
                "preferredappointmentdaycode": PL, "preferredappointmenttimecode": PL, "revenue": DEC,
                "revenue_base": DEC, "creditlimit": DEC, "creditlimit_base": DEC, "marketcap": DEC, "aging30": DEC,
                "aging60": DEC, "aging90": DEC, "creditonhold": BOOL, "numberofemployees": INT,
                "sharesoutstanding": INT, "description": MEMO, "telephone1": S, "telephone2": S, "telephone3": S,
                "fax": S, "emailaddress1": S, "emailaddress2": S, "emailaddress3": S, "websiteurl": S,
                "ftpsiteurl": S, "tickersymbol": S, "stockexchange": S, "sic": S, "yominame": S,
                "primarycontactid": LK, "parentaccountid": LK, "preferredsystemuserid": LK, "masterid": LK,
                "merged": BOOL, "exchangerate": DEC, "donotemail": BOOL, "donotfax": BOOL, "donotphone": BOOL,
                "donotpostalmail": BOOL, "donotbulkemail": BOOL, "donotbulkpostalmail": BOOL, "donotsendmm": BOOL,
                "followemail": BOOL, "marketingonly": BOOL, "participatesinworkflow": BOOL, "lastonholdtime": DT,
                "onholdtime": INT, "lastusedincampaign": DT, "isprivate": BOOL, "processid": UID, "stageid": UID,
                "traversedpath": S, "timespentbymeonemailandmeetings": S, "statecode": m.STATE,
                "statuscode": m.STATUS} | ADDRESS | BOOKKEEPING | OWNER,
    "contact": {"contactid": UID, "fullname": S, "firstname": S, "lastname": S, "middlename": S, "nickname": S,
                "salutation": S, "suffix": S, "yomifirstname": S, "yomimiddlename": S, "yomilastname": S,
                "yomifullname": S, "jobtitle": S, "department": S, "parentcustomerid": m.CUSTOMER, "accountid": LK,
                "parentcontactid": LK, "accountrolecode": PL, "annualincome": DEC, "annualincome_base": DEC,
                "creditlimit": DEC, "creditonhold": BOOL, "customertypecode": PL, "customersizecode": PL,
                "educationcode": PL, "haschildrencode": PL, "leadsourcecode": PL, "shippingmethodcode": PL,
                "territorycode": PL, "familystatuscode": PL, "gendercode": PL, "preferredcontactmethodcode": PL,
                "preferredappointmentdaycode": PL, "preferredappointmenttimecode": PL, "paymenttermscode": PL,
                "birthdate": DT, "anniversary": DT, "numberofchildren": INT, "childrensnames": S,
                "spousesname": S, "assistantname": S, "managername": S, "assistantphone": S, "managerphone": S,
                "business2": S, "callback": S, "company": S, "home2": S, "pager": S, "fax": S, "governmentid": S,
                "employeeid": S, "externaluseridentifier": S, "telephone1": S, "telephone2": S, "telephone3": S,
                "mobilephone": S, "emailaddress1": S, "emailaddress2": S, "emailaddress3": S, "websiteurl": S,
                "ftpsiteurl": S, "description": MEMO, "address3_composite": MEMO, "isbackofficecustomer": BOOL,
                "lastonholdtime": DT, "onholdtime": INT, "lastusedincampaign": DT, "preferredsystemuserid": LK,
                "masterid": LK, "merged": BOOL} | ADDRESS | BOOKKEEPING | OWNER,
    "systemuser": {"systemuserid": UID, "fullname": S, "firstname": S, "lastname": S, "middlename": S,
                   "nickname": S, "salutation": S, "jobtitle": S, "skills": S, "domainname": S,
                   "internalemailaddress": S, "personalemailaddress": S, "mobilealertemail": S, "homephone": S,
                   "mobilephone": S, "employeeid": S, "governmentid": S, "address1_postalcode": S,
                   "address1_stateorprovince": S, "businessunitid": LK, "parentsystemuserid": LK, "queueid": LK,
                   "accessmode": PL, "caltype": PL, "isdisabled": BOOL, "islicensed": BOOL,
                   "isintegrationuser": BOOL, "setupuser": BOOL, "issyncwithdirectory": BOOL,
                   "displayinserviceviews": BOOL, "invitestatuscode": PL, "emailrouteraccessapproval": PL,
                   "incomingemaildeliverymethod": PL, "outgoingemaildeliverymethod": PL, "preferredaddresscode": PL,
                   "preferredemailcode": PL, "preferredphonecode": PL, "azureactivedirectoryobjectid": UID,
                   "applicationid": UID, "photourl": S, "sharepointemailaddress": S} | BOOKKEEPING,
    "team": {"teamid": UID, "name": S, "teamtype": PL, "membershiptype": PL, "businessunitid": LK,
             "administratorid": LK, "description": MEMO, "emailaddress": S, "azureactivedirectoryobjectid": UID,
             "isdefault": BOOL, "systemmanaged": BOOL, "queueid": LK, "yominame": S} | BOOKKEEPING,
    "businessunit": {"businessunitid": UID, "name": S, "parentbusinessunitid": LK, "divisionname": S,
                     "emailaddress": S, "costcenter": S, "fileasname": S, "stockexchange": S, "tickersymbol": S,
                     "description": MEMO, "websiteurl": S, "ftpsiteurl": S, "isdisabled": BOOL,
                     "disabledreason": S, "creditlimit": DBL, "address1_line1": S, "address2_city": S,
                     "inheritancemask": INT, "utcoffset": INT, "workflowsuspended": BOOL, "usergroupid": UID}
    | BOOKKEEPING,
    "lead": {"leadid": UID, "fullname": S, "yomifullname": S, "subject": S, "firstname": S, "lastname": S,
             "middlename": S, "companyname": S, "yomicompanyname": S, "jobtitle": S, "emailaddress1": S,
             "telephone1": S, "mobilephone": S, "websiteurl": S, "industrycode": PL, "leadsourcecode": PL,
             "leadqualitycode": PL, "preferredcontactmethodcode": PL, "initialcommunication": PL, "revenue": DEC,
             "numberofemployees": INT, "budgetamount": DEC, "estimatedamount": DEC, "estimatedvalue": DBL,
             "estimatedclosedate": DT, "decisionmaker": BOOL, "evaluatefit": BOOL, "confirminterest": BOOL,
             "customerid": m.CUSTOMER, "parentaccountid": LK, "parentcontactid": LK, "accountid": LK,
             "contactid": LK, "originatingcaseid": LK, "masterid": LK, "merged": BOOL, "description": MEMO,
             "followemail": BOOL, "lastusedincampaign": DT, "statecode": m.STATE, "statuscode": m.STATUS}
    | ADDRESS | BOOKKEEPING | OWNER,
    "incident": {"incidentid": UID, "title": S, "ticketnumber": S, "customerid": m.CUSTOMER, "accountid": LK,
                 "contactid": LK, "primarycontactid": LK, "responsiblecontactid": LK, "caseorigincode": PL,
                 "casetypecode": PL, "prioritycode": PL, "severitycode": PL, "customersatisfactioncode": PL,
                 "contractservicelevelcode": PL, "incidentstagecode": PL, "firstresponseslastatus": PL,
                 "messagetypecode": PL, "description": MEMO, "emailaddress": S, "productserialnumber": S,
                 "followupby": DT, "resolveby": DT, "responseby": DT, "isescalated": BOOL, "escalatedon": DT,
                 "firstresponsesent": BOOL, "checkemail": BOOL, "routecase": BOOL, "customercontacted": BOOL,
                 "decremententitlementterm": BOOL, "influencescore": DBL, "parentcaseid": LK, "existingcase": LK,
                 "masterid": LK, "merged": BOOL, "numberofchildincidents": INT} | BOOKKEEPING | OWNER,
    "task": ACTIVITY_COMMON | {"category": S, "subcategory": S, "percentcomplete": INT,
                               "crmtaskassigneduniqueid": UID} | BOOKKEEPING | OWNER,
    "email": ACTIVITY_COMMON | {"directioncode": BOOL, "sender": S, "torecipients": S, "category": S,
                                "deliveryreceiptrequested": BOOL, "readreceiptrequested": BOOL, "messageid": S,
                                "emailsender": LK, "sendersaccount": LK, "attachmentcount": INT,
                                "parentactivityid": LK, "correlatedactivityid": LK, "conversationindex": S,
                                "inreplyto": S, "safedescription": MEMO, "isemailfollowed": BOOL}
    | BOOKKEEPING | OWNER,
    "phonecall": ACTIVITY_COMMON | {"phonenumber": S, "directioncode": BOOL, "category": S, "subcategory": S}
    | BOOKKEEPING | OWNER,
    "appointment": ACTIVITY_COMMON | {"location": S, "isalldayevent": BOOL} | BOOKKEEPING | OWNER,
    "activitypointer": ACTIVITY_COMMON | BOOKKEEPING | OWNER,
    "annotation": {"annotationid": UID, "subject": S, "notetext": MEMO, "isdocument": BOOL, "filename": S,
                   "mimetype": S, "documentbody": MEMO, "filesize": INT, "langid": S, "stepid": S,
                   "objectid": LK, "objecttypecode": EN, "isprivate": BOOL} | BOOKKEEPING | OWNER,
    "activityparty": {"activitypartyid": UID, "activityid": LK, "partyid": LK, "partyobjecttypecode": EN,
                      "participationtypemask": PL, "addressused": S, "unresolvedpartyname": S, "effort": DBL,
                      "exchangeentryid": S, "externalid": S, "externalidtype": S,
                      "addressusedemailcolumnnumber": INT, "donotemail": BOOL, "donotfax": BOOL, "donotphone": BOOL,
                      "donotpostalmail": BOOL, "ispartydeleted": BOOL, "scheduledstart": DT, "scheduledend": DT,
                      "instancetypecode": PL, "partyidname": S},
    "queue": {"queueid": UID, "name": S, "queueviewtype": PL, "queuetypecode": PL, "emailaddress": S,
              "description": MEMO, "businessunitid": LK, "primaryuserid": LK, "incomingemaildeliverymethod": PL,
              "outgoingemaildeliverymethod": PL, "incomingemailfilteringmethod": PL,
              "emailrouteraccessapproval": PL, "ignoreunsolicitedemail": BOOL, "numberofitems": INT,
              "numberofmembers": INT, "isfaxqueue": BOOL, "exchangerate": DEC} | BOOKKEEPING | OWNER,
    "queueitem": {"queueitemid": UID, "title": S, "queueid": LK, "objectid": LK, "objectidtypecode": EN,
                  "objecttypecode": PL, "workerid": LK, "workeridtype": EN, "workeridmodifiedon": DT,
                  "enteredon": DT, "priority": INT, "sender": S, "torecipients": S, "state": INT, "status": INT,
                  "exchangerate": DEC} | BOOKKEEPING,
    "role": {"roleid": UID, "name": S, "businessunitid": LK, "parentroleid": LK, "parentrootroleid": LK,
             "roleidunique": UID, "solutionid": LK, "ismanaged": BOOL, "componentstate": PL} | BOOKKEEPING,
    "solution": {"solutionid": UID, "uniquename": S, "friendlyname": S, "version": S, "description": MEMO,
                 "solutiontype": PL, "templatesuffix": S, "ismanaged": BOOL, "isvisible": BOOL,
                 "isapimanaged": BOOL, "isinternal": BOOL, "installedon": DT, "updatedon": DT,
                 "parentsolutionid": LK, "publisheridprefix": S} | BOOKKEEPING,
    "savedquery": {"savedqueryid": UID, "name": S, "description": MEMO, "returnedtypecode": EN, "querytype": INT,
                   "fetchxml": MEMO, "layoutxml": MEMO, "layoutjson": MEMO, "columnsetxml": MEMO,
                   "offlinesqlquery": MEMO, "queryappusage": INT, "isdefault": BOOL, "isquickfindquery": BOOL,
                   "iscustom": BOOL, "ismanaged": BOOL, "isprivate": BOOL, "isuserdefined": BOOL,
                   "statecode": m.STATE, "statuscode": m.STATUS} | BOOKKEEPING,
    "userquery": {"userqueryid": UID, "name": S, "description": MEMO, "returnedtypecode": EN, "querytype": INT,
                  "fetchxml": MEMO, "layoutxml": MEMO, "parentqueryid": LK, "statecode": m.STATE,
                  "statuscode": m.STATUS} | BOOKKEEPING | OWNER,
    "msdyn_ocsession": {"activityid": UID, "subject": S, "msdyn_sessionid": S, "msdyn_liveworkitemid": LK,
                        "msdyn_channel": PL, "msdyn_cdsqueueid": LK, "msdyn_agentacceptedon": DT,
                        "msdyn_agentassignedon": DT, "msdyn_sessioncreatedon": DT, "msdyn_sessionclosedon": DT,
                        "msdyn_wrapupinitiatedon": DT, "msdyn_queueassignedon": DT, "msdyn_sessionmodifiedon": DT,
                        "msdyn_sessionwrapuptimeinseconds": INT, "msdyn_sessionactivewrapuptimeinseconds": INT,
                        "msdyn_botengagementmode": PL, "msdyn_routingfailurestage": PL,
                        "msdyn_sessioncreationreason": PL, "msdyn_queueassignedreason": PL,
                        "msdyn_closurereason": PL, "msdyn_state": PL, "deliveryprioritycode": PL,
                        "description": MEMO, "exchangeitemid": S, "exchangeweblink": S, "isbilled": BOOL,
                        "ismapiprivate": BOOL, "isworkflowcreated": BOOL, "leftvoicemail": BOOL}
    | BOOKKEEPING | OWNER,
    "msdyn_sessionparticipant": {"msdyn_sessionparticipantid": UID, "msdyn_name": S,
                                 "msdyn_omnichannelsession": LK, "msdyn_agentid": LK, "msdyn_cdsqueueid": LK,
                                 "msdyn_activedirectoryuserid": S, "msdyn_mode": PL, "msdyn_consultmode": PL,
                                 "msdyn_conversationaccess": PL, "msdyn_externalparticipantchanneltype": PL,
                                 "msdyn_externalparticipantchannel": S, "msdyn_assignreason": S,
                                 "msdyn_leftonreason": S, "msdyn_addedon": DT, "msdyn_joinedon": DT,
                                 "msdyn_lefton": DT, "msdyn_starttalktime": DT, "msdyn_activechattime": INT,
                                 "msdyn_talktime": INT, "msdyn_iscapacityblocking": BOOL} | BOOKKEEPING | OWNER,
    "msdyn_liveworkstream": {"msdyn_liveworkstreamid": UID, "msdyn_name": S, "msdyn_streamsource": PL,
                             "msdyn_workdistributionmode": PL, "msdyn_direction": PL, "msdyn_mode": PL,
                             "msdyn_capacityformat": PL, "msdyn_matchinglogic": PL, "msdyn_notification": PL,
                             "msdyn_screenpoptimeout_optionset": PL, "msdyn_allowedpresences": m.MULTISELECT,
                             "msdyn_blockcapacityforconsult": m.MULTISELECT, "msdyn_capacityrequired": INT,
                             "msdyn_maxconcurrentconnection": INT, "msdyn_autocloseafterinactivity": INT,
                             "msdyn_blockcapacityforwrapup": INT, "msdyn_defaultqueue": LK,
                             "msdyn_outboundqueueid": LK, "msdyn_bot_queue": LK, "msdyn_bot_user": LK,
                             "msdyn_bot_rule": S, "msdyn_recordidentificationrule": MEMO, "msdyn_isdefault": BOOL,
                             "msdyn_enableautomatedmessages": BOOL, "msdyn_restrictdownloadtranscript": BOOL,
                             "msdyn_skillattachmentrulescount": INT} | BOOKKEEPING | OWNER,
    "msdyn_transcript": {"msdyn_transcriptid": UID, "msdyn_name": S, "msdyn_liveworkitemidid": LK,
                         "msdyn_transcripttarget": LK, "msdyn_applicationid": S, "msdyn_transcripturi": S}
    | BOOKKEEPING | OWNER,
    "msdyn_conversationmessageblock": {
        "msdyn_conversationmessageblockid": UID, "msdyn_name": S, "msdyn_ocliveworkitemid": LK,
        "msdyn_agentresponsesessionid": LK, "msdyn_customermessagesessionid": LK, "msdyn_agentid": LK,
        "msdyn_agentmessagetime": DT, "msdyn_customermessagetimestamp": DT, "msdyn_responsetimeadjforoh": DEC,
        "msdyn_agentresponsetimenotadjforoh": DEC, "msdyn_inboundmessagecountwithinoh": INT,
        "msdyn_outboundmessagecountoutsideoh": INT, "msdyn_isfirstresponsetime": BOOL} | BOOKKEEPING | OWNER,
    "msdyn_ocliveworkitemcontextitem": {
        "msdyn_ocliveworkitemcontextitemid": UID, "msdyn_name": S, "msdyn_value": S, "msdyn_datatype": PL,
        "msdyn_isdisplayable": BOOL, "msdyn_ocliveworkitemid": LK} | BOOKKEEPING | OWNER,
}
# (table, column) -> max length as §6 gives it
LENGTHS = {("account", "name"): 160, ("account", "accountnumber"): 20, ("account", "tickersymbol"): 10,
           ("account", "address1_postalcode"): 20, ("account", "address1_upszone"): 4, ("account", "websiteurl"): 200,
           ("contact", "fullname"): 160, ("contact", "firstname"): 50, ("contact", "yomifullname"): 450,
           ("contact", "suffix"): 10, ("systemuser", "fullname"): 200, ("systemuser", "firstname"): 256,
           ("systemuser", "domainname"): 1024, ("systemuser", "mobilephone"): 64,
           ("systemuser", "address1_postalcode"): 40, ("systemuser", "address1_stateorprovince"): 128,
           ("team", "name"): 160, ("lead", "subject"): 300, ("lead", "mobilephone"): 20, ("task", "subject"): 200,
           ("task", "category"): 250, ("email", "subject"): 800, ("annotation", "subject"): 500,
           ("annotation", "notetext"): 100000, ("solution", "uniquename"): 65,
           ("msdyn_ocliveworkitemcontextitem", "msdyn_value"): 4000, ("msdyn_transcript", "msdyn_transcripturi"): 2000,
           ("account", "address1_composite"): 1000, ("activitypointer", "activityadditionalparams"): 8192}
# table -> ("state value label default; …", "status value label state; …") as §5.5 gives them
STATES = {
    "account": ({0: ("Active", 1), 1: ("Inactive", 2)}, {1: ("Active", 0), 2: ("Inactive", 1)}),
    "lead": ({0: ("Open", 1), 1: ("Qualified", 3), 2: ("Disqualified", 4)},
             {1: ("New", 0), 2: ("Contacted", 0), 3: ("Qualified", 1), 4: ("Lost", 2), 5: ("Cannot Contact", 2),
              6: ("No Longer Interested", 2), 7: ("Canceled", 2)}),
    "incident": ({0: ("Active", 1), 1: ("Resolved", 5), 2: ("Canceled", 6)},
                 {1: ("In Progress", 0), 2: ("On Hold", 0), 3: ("Waiting for Details", 0), 4: ("Researching", 0),
                  5: ("Problem Solved", 1), 1000: ("Information Provided", 1), 6: ("Canceled", 2),
                  2000: ("Merged", 2)}),
    "task": ({0: ("Open", 2), 1: ("Completed", 5), 2: ("Canceled", 6)},
             {2: ("Not Started", 0), 3: ("In Progress", 0), 4: ("Waiting on someone else", 0), 7: ("Deferred", 0),
              5: ("Completed", 1), 6: ("Canceled", 2)}),
    "email": ({0: ("Open", 1), 1: ("Completed", 2), 2: ("Canceled", 5)},
              {1: ("Draft", 0), 8: ("Failed", 0), 2: ("Completed", 1), 3: ("Sent", 1), 4: ("Received", 1),
               6: ("Pending Send", 1), 7: ("Sending", 1), 5: ("Canceled", 2)}),
    "phonecall": ({0: ("Open", 1), 1: ("Completed", 2), 2: ("Canceled", 3)},
                  {1: ("Open", 0), 2: ("Made", 1), 4: ("Received", 1), 3: ("Canceled", 2)}),
    "appointment": ({0: ("Open", 1), 1: ("Completed", 3), 2: ("Canceled", 4), 3: ("Scheduled", 5)},
                    {1: ("Free", 0), 2: ("Tentative", 0), 3: ("Completed", 1), 4: ("Canceled", 2), 5: ("Busy", 3),
                     6: ("Out of Office", 3)}),
    "msdyn_ocsession": ({0: ("Open", 1), 1: ("Completed", 2), 2: ("Canceled", 3), 3: ("Scheduled", 4)},
                        {1: ("Open", 0), 2: ("Completed", 1), 3: ("Canceled", 2), 4: ("Scheduled", 3)}),
    "msdyn_transcript": ({0: ("Active", 1), 1: ("Inactive", 2)}, {1: ("Active", 0), 2: ("Inactive", 1)}),
}
# (table, column) -> some options as §6 lists them
OPTIONS = {("account", "industrycode"): {1: "Accounting", 9: "Design, Direction and Creative Management",
                                         33: "Wholesale"},
           ("account", "paymenttermscode"): {2: "2% 10, Net 30"},
           ("account", "customertypecode"): {1: "Competitor", 12: "Other"},
           ("contact", "gendercode"): {1: "Male", 2: "Female"},
           ("systemuser", "accessmode"): {0: "Read-Write", 4: "Non-interactive"},
           ("lead", "leadsourcecode"): {1: "Advertisement", 10: "Other"},
           ("incident", "caseorigincode"): {1: "Phone", 2483: "Facebook", 3986: "Twitter"},
           ("incident", "prioritycode"): {1: "High", 2: "Normal", 3: "Low"},
           ("activityparty", "participationtypemask"): {1: "Sender", 2: "To Recipient", 13: "Related"},
           ("task", "prioritycode"): {0: "Low", 1: "Normal", 2: "High"},
           ("msdyn_ocsession", "msdyn_closurereason"): {192350000: "Default", 192350031: "BotCallFailureEscalate"},
           ("msdyn_liveworkstream", "msdyn_direction"): {4: "ProactiveOutbound"}}
# table -> (entity set, primary id, primary name, ownership, is activity) as §6.1 gives them
SUMMARY = {"account": ("accounts", "accountid", "name", "UserOwned", False),
           "contact": ("contacts", "contactid", "fullname", "UserOwned", False),
           "lead": ("leads", "leadid", "fullname", "UserOwned", False),
           "annotation": ("annotations", "annotationid", "subject", "UserOwned", False),
           "systemuser": ("systemusers", "systemuserid", "fullname", "BusinessOwned", False),
           "team": ("teams", "teamid", "name", "BusinessOwned", False),
           "businessunit": ("businessunits", "businessunitid", "name", "BusinessOwned", False),
           "incident": ("incidents", "incidentid", "title", "UserOwned", False),
           "activityparty": ("activityparties", "activitypartyid", "partyidname", "None", False),
           "role": ("roles", "roleid", "name", "BusinessOwned", False),
           "savedquery": ("savedqueries", "savedqueryid", "name", "OrganizationOwned", False),
           "queue": ("queues", "queueid", "name", "UserOwned", False),
           "queueitem": ("queueitems", "queueitemid", "title", "None", False),
           "activitypointer": ("activitypointers", "activityid", "subject", "UserOwned", True),
           "appointment": ("appointments", "activityid", "subject", "UserOwned", True),
           "email": ("emails", "activityid", "subject", "UserOwned", True),
           "phonecall": ("phonecalls", "activityid", "subject", "UserOwned", True),
           "task": ("tasks", "activityid", "subject", "UserOwned", True),
           "userquery": ("userqueries", "userqueryid", "name", "UserOwned", False),
           "solution": ("solutions", "solutionid", "friendlyname", "OrganizationOwned", False),
           "msdyn_ocliveworkitem": ("msdyn_ocliveworkitems", "activityid", "subject", "UserOwned", True),
           "msdyn_ocsession": ("msdyn_ocsessions", "activityid", "subject", "UserOwned", True),
           "msdyn_sessionparticipant": ("msdyn_sessionparticipants", "msdyn_sessionparticipantid", "msdyn_name",
                                        "UserOwned", False),
           "msdyn_liveworkstream": ("msdyn_liveworkstreams", "msdyn_liveworkstreamid", "msdyn_name", "UserOwned",
                                    False),
           "msdyn_transcript": ("msdyn_transcripts", "msdyn_transcriptid", "msdyn_name", "UserOwned", False),
           "msdyn_conversationmessageblock": ("msdyn_conversationmessageblocks", "msdyn_conversationmessageblockid",
                                              "msdyn_name", "UserOwned", False),
           "msdyn_ocliveworkitemcontextitem": ("msdyn_ocliveworkitemcontextitems",
                                               "msdyn_ocliveworkitemcontextitemid", "msdyn_name", "UserOwned", False)}
# (table, lookup column) -> {target: navigation property}, from relationships.md §2
NAVIGATION = {
    ("account", "primarycontactid"): {"contact": "primarycontactid"},
    ("account", "createdby"): {"systemuser": "createdby"}, ("account", "modifiedby"): {"systemuser": "modifiedby"},
    ("account", "ownerid"): {"systemuser": "ownerid", "team": "ownerid"},
    ("account", "owninguser"): {"systemuser": "owninguser"}, ("account", "owningteam"): {"team": "owningteam"},
    ("account", "owningbusinessunit"): {"businessunit": "owningbusinessunit"},
    ("account", "parentaccountid"): {"account": "parentaccountid"},
    ("contact", "parentcustomerid"): {"account": "parentcustomerid_account", "contact": "parentcustomerid_contact"},
    ("incident", "customerid"): {"account": "customerid_account", "contact": "customerid_contact"},
    ("incident", "parentcaseid"): {"incident": "parentcaseid"},
    ("lead", "customerid"): {"account": "customerid_account", "contact": "customerid_contact"},
    ("annotation", "objectid"): {"account": "objectid_account", "task": "objectid_task",
                                 "msdyn_ocliveworkitem": "objectid_msdyn_ocliveworkitem"},
    ("queueitem", "objectid"): {"email": "objectid_email", "incident": "objectid_incident"},
    ("queueitem", "workerid"): {"systemuser": "workerid_systemuser", "team": "workerid_team"},
    ("activityparty", "partyid"): {"systemuser": "partyid_systemuser", "account": "partyid_account"},
    ("activityparty", "activityid"): {"email": "activityid_email", "activitypointer": "activityid_activitypointer"},
    ("task", "createdby"): {"systemuser": "createdby_task"}, ("email", "modifiedby"): {"systemuser": "modifiedby_email"},
    ("phonecall", "ownerid"): {"systemuser": "ownerid_phonecall", "team": "ownerid_phonecall"},
    ("appointment", "owninguser"): {"systemuser": "owninguser_appointment"},
    ("task", "owningteam"): {"team": "owningteam_task"},
    ("email", "owningbusinessunit"): {"businessunit": "owningbusinessunit_email"},
    ("task", "regardingobjectid"): {"account": "regardingobjectid_account_task",
                                    "incident": "regardingobjectid_incident_task"},
    ("email", "regardingobjectid"): {"contact": "regardingobjectid_contact_email"},
    ("email", "emailsender"): {"account": "emailsender_account", "systemuser": "emailsender_systemuser"},
    ("email", "sendersaccount"): {"account": "sendersaccount"},
    ("email", "correlatedactivityid"): {"email": "CorrelatedActivityId_Email"},
    ("activitypointer", "regardingobjectid"): {"account": "regardingobjectid_account",
                                               "contact": "regardingobjectid_contact"},
    ("activitypointer", "createdby"): {"systemuser": "createdby"},
    ("activitypointer", "ownerid"): {"systemuser": "ownerid", "team": "ownerid"},
    ("msdyn_ocliveworkitem", "createdby"): {"systemuser": "createdby_msdyn_ocliveworkitem"},
    ("msdyn_ocliveworkitem", "msdyn_issueid"): {"incident": "msdyn_IssueId_msdyn_ocliveworkitem"},
    ("msdyn_ocliveworkitem", "regardingobjectid"): {"incident": "regardingobjectid_incident_msdyn_ocliveworkitem"},
    ("msdyn_ocsession", "msdyn_liveworkitemid"): {"msdyn_ocliveworkitem": "msdyn_liveworkitemid_msdyn_ocsession"},
    ("msdyn_ocsession", "msdyn_cdsqueueid"): {"queue": "msdyn_cdsqueueid_msdyn_ocsession"},
    ("msdyn_transcript", "msdyn_liveworkitemidid"): {"msdyn_ocliveworkitem": "msdyn_LiveWorkItemIdId"},
    ("msdyn_transcript", "msdyn_transcripttarget"): {"appointment": "msdyn_transcripttarget_appointment",
                                                     "phonecall": "msdyn_transcripttarget_phonecall"},
    ("msdyn_sessionparticipant", "msdyn_omnichannelsession"): {"msdyn_ocsession": "msdyn_omnichannelsession"},
    ("msdyn_conversationmessageblock", "msdyn_ocliveworkitemid"): {"msdyn_ocliveworkitem": "msdyn_ocliveworkitemid"},
    ("role", "solutionid"): {"solution": "solution_role"},
    ("systemuser", "businessunitid"): {"businessunit": "businessunitid"},
    ("team", "businessunitid"): {"businessunit": "businessunitid"},
}
READ_ONLY = {("contact", "fullname"), ("contact", "yomifullname"), ("lead", "fullname"), ("systemuser", "fullname"),
             ("account", "address1_composite"), ("contact", "address3_composite"), ("task", "activitytypecode"),
             ("account", "revenue_base"), ("account", "versionnumber"), ("task", "scheduleddurationminutes"),
             ("contact", "accountid"), ("email", "senton"), ("queueitem", "title")}


# -- the metadata ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_table_has_the_columns_the_spec_lists(name):
    table = metadata.SHIPPED.find(name)
    assert table is not None, name
    for column, type_ in EXPECTED[name].items():
        attr = table.attribute(column)
        assert attr is not None, f"{name}.{column}"
        assert attr.type == type_, f"{name}.{column}: {attr.type} != {type_}"


@pytest.mark.parametrize("name", sorted(SUMMARY))
def test_table_summary(name):
    table = metadata.SHIPPED.table(name)
    assert (table.entity_set, table.primary_id, table.primary_name, table.ownership, table.is_activity) == \
        SUMMARY[name]


def test_lengths_options_and_state_pairs():
    for (name, column), length in LENGTHS.items():
        assert metadata.SHIPPED.table(name).attribute(column).max_length == length, (name, column)
    for (name, column), options in OPTIONS.items():
        option_set = metadata.SHIPPED.table(name).attribute(column).option_set
        for value, label in options.items():
            assert option_set.label(value) == label, (name, column, value)
    for name, (states, statuses) in STATES.items():
        table = metadata.SHIPPED.table(name)
        got_states = {o.value: (o.label, o.default_status) for o in table.state_attribute.option_set.options}
        got_statuses = {o.value: (o.label, o.state) for o in table.status_attribute.option_set.options}
        assert (got_states, got_statuses) == (states, statuses), name
    assert metadata.SHIPPED.table("systemuser").state_attribute is None  # isdisabled plays that role


def test_navigation_names_follow_relationships_md():
    for (name, column), navs in NAVIGATION.items():
        attr = metadata.SHIPPED.table(name).attribute(column)
        for target, nav in navs.items():
            assert attr.navigation_for(target) == nav, (name, column, target)


def test_read_only_columns_and_real_lookup_targets():
    for name, column in READ_ONLY:
        attr = metadata.SHIPPED.table(name).attribute(column)
        assert not attr.valid_for_create and not attr.valid_for_update, (name, column)
    for table in metadata.SHIPPED.tables:
        for attr in table.lookups:
            assert all(metadata.SHIPPED.find(t) for t in attr.targets), (table.logical_name, attr.logical_name)


# -- over HTTP -----------------------------------------------------------------------------------------------------
def created(response) -> str:
    assert response.status_code == 204, response.get_data(as_text=True)
    return response.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")


def test_fullname_and_composite_address_are_computed(api):
    key = created(api.request("POST", "contacts", json={
        "firstname": "Rene", "lastname": "Valdes (sample)", "address1_line1": "1 Main St", "address1_city": "Seattle",
        "address1_stateorprovince": "WA", "address1_postalcode": "98101", "address1_country": "United States"}))
    body = api.get(f"contacts({key})?$select=fullname,yomifullname,address1_composite,firstname").get_json()
    assert body["fullname"] == "Rene Valdes (sample)"
    assert body["address1_composite"] == "1 Main St\r\nSeattle, WA 98101\r\nUnited States"
    assert api.request("PATCH", f"contacts({key})", json={"lastname": "Valdes", "address1_line1": None}
                       ).status_code == 204
    body = api.get(f"contacts({key})?$select=fullname,address1_composite").get_json()
    assert (body["fullname"], body["address1_composite"]) == ("Rene Valdes", "Seattle, WA 98101\r\nUnited States")
    lead = created(api.request("POST", "leads", json={"subject": "Interested", "lastname": "Solo"}))
    assert api.get(f"leads({lead})?$select=fullname").get_json()["fullname"] == "Solo"
    user = created(api.request("POST", "systemusers", json={"firstname": "Ada", "lastname": "Lovelace",
                                                            "domainname": "ada@contoso.example",
                                                            "internalemailaddress": "ada@contoso.example"}))
    assert api.get(f"systemusers({user})?$select=fullname").get_json()["fullname"] == "Ada Lovelace"
    assert api.get("contacts?$filter=fullname eq 'Rene Valdes'&$select=contactid").get_json()["value"]


def test_writing_a_read_only_column_is_refused(api):
    for entity_set, body in (("contacts", {"lastname": "X", "fullname": "Y"}),
                             ("accounts", {"name": "A", "address1_composite": "x"}),
                             ("tasks", {"subject": "T", "scheduleddurationminutes": 5})):
        response = api.request("POST", entity_set, json=body)
        assert response.status_code == 400, entity_set
        assert response.get_json()["error"]["code"] == "0x80040203"
        assert "cannot be set on create" in response.get_json()["error"]["message"]


def test_the_owner_set_follows_the_owner(api, emulator):
    team = api.get("teams?$select=teamid&$top=1").get_json()["value"][0]["teamid"]
    key = created(api.request("POST", "accounts", json={"name": "Owned"}))
    body = api.get(f"accounts({key})?$select=_ownerid_value,_owninguser_value,_owningteam_value,"
                   f"_owningbusinessunit_value").get_json()
    assert body["_owninguser_value"] == body["_ownerid_value"] and body["_owningteam_value"] is None
    whoami = api.get("WhoAmI").get_json()
    assert body["_owningbusinessunit_value"] == whoami["BusinessUnitId"]
    assert api.request("PATCH", f"accounts({key})", json={"ownerid@odata.bind": f"/teams({team})"}).status_code == 204
    body = api.get(f"accounts({key})?$select=_owninguser_value,_owningteam_value").get_json()
    assert (body["_owninguser_value"], body["_owningteam_value"]) == (None, team)


def test_dataverse_navigation_names_over_http(api):
    account = created(api.request("POST", "accounts", json={"name": "Nav"}))
    contact = created(api.request("POST", "contacts", json={
        "lastname": "Nav", "parentcustomerid_account@odata.bind": f"/accounts({account})"}))
    assert api.request("PATCH", f"accounts({account})", json={
        "primarycontactid@odata.bind": f"/contacts({contact})"}).status_code == 204
    body = api.get(f"accounts({account})?$select=name&$expand=primarycontactid($select=fullname),"
                   f"createdby($select=fullname)").get_json()
    assert body["primarycontactid"]["fullname"] == "Nav" and body["createdby"]["fullname"]
    body = api.get(f"contacts({contact})?$select=lastname&$expand=parentcustomerid_account($select=name)",
                   headers={"Prefer": 'odata.include-annotations="*"'}).get_json()
    assert body["parentcustomerid_account"]["name"] == "Nav"
    body = api.get(f"contacts({contact})?$select=_parentcustomerid_value",
                   headers={"Prefer": 'odata.include-annotations="*"'}).get_json()
    assert body["_parentcustomerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"] == \
        "parentcustomerid_account"
    task = created(api.request("POST", "tasks", json={
        "subject": "Call", "regardingobjectid_account_task@odata.bind": f"/accounts({account})"}))
    body = api.get(f"tasks({task})?$select=subject,activitytypecode,_regardingobjectid_value"
                   f"&$expand=regardingobjectid_account_task($select=name),createdby_task($select=fullname)",
                   headers={"Prefer": 'odata.include-annotations="*"'}).get_json()
    assert body["regardingobjectid_account_task"]["name"] == "Nav" and body["activitytypecode"] == "task"
    assert body["_regardingobjectid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"] == \
        "regardingobjectid_account_task"
    assert api.request("POST", "accounts", json={"createdby_account@odata.bind": "/systemusers(x)"}
                       ).status_code == 400  # the old invented name is gone
    csdl = api.get("$metadata").get_data(as_text=True)
    assert '<NavigationProperty Name="primarycontactid" Type="mscrm.contact"' in csdl
    assert '<NavigationProperty Name="regardingobjectid_account_task" Type="mscrm.account"' in csdl
    assert '<NavigationProperty Name="parentcustomerid_contact" Type="mscrm.contact"' in csdl


def test_activitypointers_list_every_activity_type(client):
    types = {r["activitytypecode"] for r in client.values("activitypointers?$select=activitytypecode"
                                                          "&$filter=statecode ge 0")}
    assert {"task", "email", "phonecall", "appointment", "msdyn_ocliveworkitem", "msdyn_ocsession"} <= types
    tasks = client.values("activitypointers?$select=subject,activitytypecode&$filter=activitytypecode eq 'task'"
                          "&$orderby=subject desc,activityid&$top=5")
    assert len(tasks) == 5 and {r["activitytypecode"] for r in tasks} == {"task"}
    assert [r["subject"] for r in tasks] == sorted((r["subject"] for r in tasks), reverse=True)
    total = client.get("activitypointers/$count").get_data(as_text=True)
    counted = sum(int(client.get(f"{s}/$count").get_data(as_text=True).lstrip("\ufeff"))
                  for s in ("tasks", "emails", "phonecalls", "appointments", "msdyn_ocliveworkitems",
                            "msdyn_ocsessions"))
    assert int(total.lstrip("\ufeff")) == counted


def test_activitypointers_page_with_next_links(client):
    seen: list[str] = []
    response = client.get("activitypointers?$select=subject&$filter=activitytypecode eq 'email'",
                          headers={"Prefer": "odata.maxpagesize=10"})
    while True:
        body = response.get_json()
        seen += [r["activityid"] for r in body["value"]]
        link = body.get("@odata.nextLink")
        if not link:
            break
        response = client.get(link.split("/api/data/v9.2/", 1)[1], headers={"Prefer": "odata.maxpagesize=10"})
    emails = client.values("emails?$select=subject")
    assert len(seen) == len(set(seen)) == len(emails) > 10
    one = client.get(f"activitypointers({seen[0]})?$select=subject,activitytypecode").get_json()
    assert one["activitytypecode"] == "email"


def test_activitypointer_writes_are_refused(api):
    response = api.request("POST", "activitypointers", json={"subject": "x"})
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == \
        "The 'Create' method does not support entities of type 'activitypointer'."


def test_seeded_reference_data_is_coherent(client):
    views = {v["name"]: v for v in client.values("savedqueries?$select=name,returnedtypecode,fetchxml")}
    assert views["Active Accounts"]["returnedtypecode"] == "account"
    assert "<entity name=\"msdyn_ocliveworkitem\">" in views["My Active Conversations"]["fetchxml"]
    accounts = client.values("accounts?$select=name&$expand=primarycontactid($select=_parentcustomerid_value)&$top=20")
    assert all(a["primarycontactid"]["_parentcustomerid_value"] == a["accountid"] for a in accounts)
    assert client.values("roles?$select=name") and client.values("solutions?$select=uniquename")
    transcript = client.values("msdyn_transcripts?$select=msdyn_name&$expand=msdyn_LiveWorkItemIdId($select=statecode)"
                               "&$top=3")
    assert transcript and all(t["msdyn_LiveWorkItemIdId"]["statecode"] == 1 for t in transcript)
    assert client.values("tasks?$filter=_regardingobjectid_value ne null&$select=subject&$top=1")
    assert client.values("annotations?$select=subject&$filter=objecttypecode eq 'msdyn_transcript'&$top=1")
    assert f"{API}" == "/api/data/v9.2"
