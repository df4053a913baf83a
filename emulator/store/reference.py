"""The seeder's data for the standard tables around the conversations (schema-breadth.md §6): the business unit,
teams, roles, solutions, system and personal views, leads, cases, tasks, emails, phone calls, appointments with
their activity parties, notes, queue items, and, for the first conversations, transcripts, session participants,
message blocks and context items. Counts grow with the conversations but are capped (a million conversations do
not make a million tasks); see docs/decisions.md "Seed data". Rows are dicts (seed.Seeder._insert makes tuples)."""
from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .records import ROOT_BUSINESS_UNIT_ID, composite_address, full_name

if TYPE_CHECKING:
    from .seed import Seeder

DAY = 86400
CAP = 5000  # conversations that get transcripts, participants, message blocks and context items

ROLES = ("System Administrator", "System Customizer", "Basic User", "Customer Service Representative",
         "Omnichannel agent", "Omnichannel supervisor", "Omnichannel administrator")
SOLUTIONS = (("Default", "Default Solution", "1.0", True), ("Active", "Active Solution", "1.0", False),
             ("OmnichannelBase", "Omnichannel Base", "9.3.2401.2", True))


def _fetch(entity: str, attributes: tuple[str, ...], conditions: str, order: str) -> str:
    attrs = "".join(f'<attribute name="{a}" />' for a in attributes)
    return (f'<fetch version="1.0" output-format="xml-platform" mapping="logical" distinct="false">'
            f'<entity name="{entity}">{attrs}<order attribute="{order}" descending="false" />'
            f'<filter type="and">{conditions}</filter></entity></fetch>')


ACTIVE = '<condition attribute="statecode" operator="eq" value="0" />'
MINE = '<condition attribute="ownerid" operator="eq-userid" />'
# (name, returned table, fetch, is default) — system views with the FetchXML Dataverse's own views use
VIEWS = (
    ("Active Accounts", "account", _fetch("account", ("name", "primarycontactid", "telephone1", "address1_city",
                                                       "accountid"), ACTIVE, "name"), True),
    ("My Active Accounts", "account", _fetch("account", ("name", "telephone1", "accountid"), ACTIVE + MINE, "name"),
     False),
    ("Active Contacts", "contact", _fetch("contact", ("fullname", "parentcustomerid", "emailaddress1", "contactid"),
                                          ACTIVE, "fullname"), True),
    ("Active Cases", "incident", _fetch("incident", ("title", "ticketnumber", "customerid", "prioritycode",
                                                     "incidentid"), ACTIVE, "title"), True),
    ("My Active Cases", "incident", _fetch("incident", ("title", "ticketnumber", "incidentid"), ACTIVE + MINE,
                                           "title"), False),
    ("Open Leads", "lead", _fetch("lead", ("fullname", "companyname", "subject", "leadid"), ACTIVE, "fullname"), True),
    ("My Open Tasks", "task", _fetch("task", ("subject", "regardingobjectid", "scheduledend", "activityid"),
                                     ACTIVE + MINE, "scheduledend"), True),
    ("My Active Conversations", "msdyn_ocliveworkitem", _fetch(
        "msdyn_ocliveworkitem", ("subject", "msdyn_customer", "statuscode", "createdon", "activityid"),
        ACTIVE + '<condition attribute="msdyn_activeagentid" operator="eq-userid" />', "createdon"), False),
    ("All Activities", "activitypointer", _fetch("activitypointer", ("subject", "activitytypecode", "regardingobjectid",
                                                                     "activityid"), ACTIVE, "subject"), True),
)
CASE_TITLES = ("Printer not responding", "Invoice discrepancy", "Shipment missing items", "Cannot sign in",
               "Request for refund", "Upgrade question", "Service outage report", "Warranty repair")
INTERESTS = ("support plans", "licences", "onboarding")
TASK_SUBJECTS = ("Follow up", "Send quote", "Call back", "Schedule visit", "Review contract", "Check shipment")


class ReferenceData:
    def __init__(self, seeder: Seeder, users: list[tuple], accounts: list[tuple],
                 contacts: list[tuple[str, str]], queues: list[tuple]) -> None:
        self.s = seeder
        self.rng = seeder.rng
        self.agents = [u[0] for u in users[1:]]
        self.admin = users[0][0]
        self.accounts = [(a[0], a[1]) for a in accounts]
        self.contacts = contacts
        self.queues = [q[0] for q in queues]
        self.n = len(contacts) * 5  # ~ the conversation count (contacts are conversations / 5, capped)
        self.closed: list[tuple] = []  # (conversation id, title, agent, created, last) of the first closed ones
        self.first_sessions: list[tuple] = []
        conv = seeder.columns["msdyn_ocliveworkitem"]
        self.ci = {c: conv.index(c) for c in ("activityid", "msdyn_title", "statuscode", "msdyn_activeagentid",
                                              "createdon", "modifiedon", "msdyn_customer", "msdyn_customer__target")}

    # -- helpers ---------------------------------------------------------------------------------------------
    def count(self, per: int, low: int, high: int) -> int:
        return max(low, min(high, self.n // per))

    def row(self, table: str, created: int, *, owner: str | None = None, state: int | None = None,
            status: int | None = None, **values: Any) -> dict:
        """One row: `values`, the stamped columns (created by the administrator, owned by `owner`) and, when the
        table has a state model, the state and its status (default status unless given)."""
        rules = self.s.rules[table]
        self.s.version += 1
        at = self.s.instant(created)
        values.update(zip(rules.stamped, rules.stamp(at, at, self.admin, self.s.version, owner), strict=True))
        if rules.states is not None:
            state = state or 0
            values["statecode"] = state
            values["statuscode"] = status if status is not None else rules.default_status(state)
        return values

    def ago(self, low_days: int, high_days: int) -> int:
        return self.s.now - self.rng.randrange(low_days * DAY, high_days * DAY)

    def customer(self) -> tuple[str, str, str]:
        """(id, name, table) of a random account (1 in 3) or contact."""
        if self.rng.random() < 0.33:
            return (*self.rng.choice(self.accounts), "account")
        return (*self.rng.choice(self.contacts), "contact")

    # -- before the conversations ------------------------------------------------------------------------------
    def before_conversations(self) -> Iterator[tuple[str, list[dict]]]:
        setup = self.s.now - 400 * DAY
        yield "businessunit", [self.row("businessunit", setup, businessunitid=ROOT_BUSINESS_UNIT_ID,
                                        name="Contoso", divisionname="Customer Service",
                                        websiteurl="https://www.contoso.example")]
        teams = [self.row("team", setup, teamid=self.s.guid(), name=name, teamtype=teamtype, membershiptype=0,
                          businessunitid=ROOT_BUSINESS_UNIT_ID, isdefault=default, administratorid=self.admin)
                 for name, teamtype, default in (("Contoso", 0, True), ("Support Tier 2", 0, False),
                                                 ("Omnichannel supervisors", 1, False))]
        yield "team", teams
        yield "role", [self.row("role", setup, roleid=self.s.guid(), name=name, businessunitid=ROOT_BUSINESS_UNIT_ID,
                                ismanaged=True, componentstate=0) for name in ROLES]
        yield "solution", [self.row("solution", setup, solutionid=self.s.guid(), uniquename=unique,
                                    friendlyname=friendly, version=version, ismanaged=managed, isvisible=True,
                                    installedon=self.s.instant(setup))
                           for unique, friendly, version, managed in SOLUTIONS]
        yield "savedquery", [self.row("savedquery", setup, savedqueryid=self.s.guid(), name=name,
                                      returnedtypecode=table, querytype=0, fetchxml=fetch, isdefault=default,
                                      iscustom=False, ismanaged=True)
                             for name, table, fetch, default in VIEWS]
        doc_agent = self.agents[0]
        yield "userquery", [self.row("userquery", self.ago(30, 60), owner=doc_agent, userqueryid=self.s.guid(),
                                     name=name, returnedtypecode=table, querytype=0, fetchxml=fetch)
                            for name, table, fetch in (
                                ("My waiting conversations", "msdyn_ocliveworkitem", _fetch(
                                    "msdyn_ocliveworkitem", ("subject", "createdon", "activityid"),
                                    '<condition attribute="statuscode" operator="eq" value="3" />'
                                    '<condition attribute="msdyn_activeagentid" operator="eq-userid" />',
                                    "createdon")),
                                ("Seattle accounts", "account", _fetch(
                                    "account", ("name", "accountid"),
                                    '<condition attribute="address1_city" operator="eq" value="Seattle" />',
                                    "name")))]
        yield "lead", self.leads()
        cases = self.incidents()
        yield "incident", cases
        yield from self.activities(cases)

    def leads(self) -> list[dict]:
        rows = []
        faker = self.s.faker
        companies = [faker.company() for _ in range(50)]
        for _ in range(self.count(50, 10, 5000)):
            first, last = faker.first_name(), faker.last_name()
            state = self.rng.choice((0, 0, 0, 1, 2))
            rows.append(self.row("lead", self.ago(1, 180), owner=self.rng.choice(self.agents), state=state,
                                 status={0: self.rng.choice((1, 2)), 1: 3, 2: self.rng.choice((4, 5, 6, 7))}[state],
                                 leadid=self.s.guid(), fullname=full_name(first, None, last), firstname=first,
                                 lastname=last, subject=f"Interested in {self.rng.choice(INTERESTS)}",
                                 companyname=self.rng.choice(companies), leadsourcecode=self.rng.randrange(1, 11),
                                 leadqualitycode=self.rng.randrange(1, 4),
                                 emailaddress1=f"{first}.{last}@example.net".lower(),
                                 address1_city="Seattle", address1_composite=composite_address({"city": "Seattle"})))
        return rows

    def incidents(self) -> list[dict]:
        rows = []
        for i in range(self.count(20, 10, 20000)):
            cid, _, ctype = self.customer()
            state = self.rng.choice((0, 0, 0, 1, 1, 2))
            status = {0: self.rng.choice((1, 2, 3, 4)), 1: self.rng.choice((5, 1000)), 2: 6}[state]
            rows.append(self.row("incident", self.ago(1, 180), owner=self.rng.choice(self.agents), state=state,
                                 status=status, incidentid=self.s.guid(), title=self.rng.choice(CASE_TITLES),
                                 ticketnumber=f"CAS-{10000 + i:05d}-{self.rng.randrange(36 ** 3):03X}",
                                 customerid=cid, customerid__target=ctype,
                                 accountid=cid if ctype == "account" else None,
                                 contactid=cid if ctype == "contact" else None,
                                 caseorigincode=self.rng.choice((1, 2, 3)), casetypecode=self.rng.randrange(1, 4),
                                 prioritycode=self.rng.choice((1, 2, 2, 3))))
        return rows

    def activities(self, cases: list[dict]) -> Iterator[tuple[str, list[dict]]]:
        """Tasks and emails about cases and customers, phone calls and appointments, their parties and notes."""
        rng = self.rng
        parties: list[dict] = []

        def regarding() -> tuple[str, str]:
            if cases and rng.random() < 0.5:
                return rng.choice(cases)["incidentid"], "incident"
            cid, _, ctype = self.customer()
            return cid, ctype

        def activity(table: str, subject: str, state: int, status: int | None = None, **extra: Any) -> dict:
            created = self.ago(1, 120)
            rid, rtype = regarding()
            start = created + rng.randrange(0, 14) * DAY
            return self.row(table, created, owner=rng.choice(self.agents), state=state, status=status,
                            activityid=self.s.guid(), subject=subject, activitytypecode=table, regardingobjectid=rid,
                            regardingobjectid__target=rtype, scheduledstart=self.s.instant(min(start, self.s.now)),
                            scheduledend=self.s.instant(min(start + DAY, self.s.now)),
                            prioritycode=rng.choice((0, 1, 1, 2)), **extra)

        tasks = [activity("task", rng.choice(TASK_SUBJECTS), s, None if s else rng.choice((2, 3, 4)),
                          percentcomplete=100 if s == 1 else rng.choice((0, 25, 50)))
                 for s in (rng.choice((0, 0, 1, 2)) for _ in range(self.count(10, 20, 20000)))]
        yield "task", tasks
        emails = []
        for _ in range(self.count(20, 10, 10000)):
            sent = rng.random() < 0.7
            email = activity("email", f"RE: {rng.choice(CASE_TITLES)}", 1 if sent else 0, 3 if sent else 1,
                             directioncode=True, description="<p>Thank you for contacting Contoso support.</p>",
                             senton=None)
            email["senton"] = email["modifiedon"] if sent else None
            emails.append(email)
            parties += self.parties(email, "email", ((1, email["ownerid"], "systemuser"),))
        yield "email", emails
        calls = []
        for _ in range(self.count(50, 5, 5000)):
            call = activity("phonecall", f"Call about {rng.choice(CASE_TITLES).lower()}", 1, rng.choice((2, 4)),
                            phonenumber=f"+1-555-{rng.randrange(1000, 9999)}", directioncode=rng.random() < 0.5)
            calls.append(call)
            parties += self.parties(call, "phonecall", ((1, call["ownerid"], "systemuser"),))
        yield "phonecall", calls
        appointments = []
        for _ in range(self.count(100, 5, 2000)):
            appointment = activity("appointment", "Quarterly service review", 3, 5, location="Teams meeting",
                                   isalldayevent=False)
            appointments.append(appointment)
            parties += self.parties(appointment, "appointment", ((7, appointment["ownerid"], "systemuser"),), 5)
        yield "appointment", appointments
        yield "activityparty", parties
        notes = [self.row("annotation", self.ago(1, 90), owner=rng.choice(self.agents), annotationid=self.s.guid(),
                          subject="Call summary", notetext=f"Customer called about: {case['title']}.",
                          isdocument=False, objectid=case["incidentid"], objectid__target="incident",
                          objecttypecode="incident", filename=None, mimetype=None, documentbody=None)
                 for case in cases[:self.count(40, 5, 10000)]]
        self.notes = notes
        yield "queueitem", [self.row("queueitem", self.ago(1, 30), queueitemid=self.s.guid(), title=case["title"],
                                     queueid=rng.choice(self.queues), objectid=case["incidentid"],
                                     objectid__target="incident", objectidtypecode="incident",
                                     enteredon=case["createdon"])
                            for case in cases[:self.count(50, 5, 2000)] if case["statecode"] == 0]

    def parties(self, activity: dict, table: str, senders: tuple[tuple[int, str, str], ...],
                to_mask: int = 2) -> list[dict]:
        """The activity's sender(s) and one recipient: the customer it is about, else a random contact."""
        rid, rtype = activity["regardingobjectid"], activity["regardingobjectid__target"]
        if rtype not in ("account", "contact"):
            rid, _, rtype = self.customer()
        out = []
        for mask, party, ptype in (*senders, (to_mask, rid, rtype)):
            out.append(self.row("activityparty", self.s.now - 30 * DAY, activitypartyid=self.s.guid(),
                                activityid=activity["activityid"], activityid__target=table, partyid=party,
                                partyid__target=ptype, partyobjecttypecode=ptype, participationtypemask=mask,
                                ownerid=activity["ownerid"], ownerid__target="systemuser"))
        return out

    # -- the conversations' children -----------------------------------------------------------------------
    def note_conversations(self, convs: list[tuple], sessions: list[tuple]) -> None:
        """Keep the first CAP closed conversations (with an agent) and the sessions of the first CAP conversations."""
        if len(self.closed) < CAP:
            ci = self.ci
            for conv in convs:
                if conv[ci["statuscode"]] == 4 and conv[ci["msdyn_activeagentid"]] is not None:
                    self.closed.append(tuple(conv[ci[c]] for c in ("activityid", "msdyn_title", "msdyn_activeagentid",
                                                                  "createdon", "modifiedon", "msdyn_customer")))
                    if len(self.closed) == CAP:
                        break
        if len(self.first_sessions) < CAP:
            self.first_sessions += sessions[:CAP - len(self.first_sessions)]

    def after_conversations(self) -> Iterator[tuple[str, list[dict]]]:
        rng = self.rng
        transcripts, notes, blocks, items = [], list(getattr(self, "notes", [])), [], []
        for cid, title, agent, created_at, last_at, customer in self.closed:
            tid = self.s.guid()
            created = _epoch(last_at)
            transcripts.append(self.row("msdyn_transcript", created, owner=agent, msdyn_transcriptid=tid,
                                        msdyn_name=f"Transcript: {title}", msdyn_liveworkitemidid=cid))
            notes.append(self.row("annotation", created, owner=agent, annotationid=self.s.guid(),
                                  subject="Chat transcript", isdocument=True, objectid=tid,
                                  objectid__target="msdyn_transcript", objecttypecode="msdyn_transcript",
                                  notetext=None, filename="transcript.json", mimetype="application/json",
                                  documentbody=_transcript(title)))
            blocks.append(self.row("msdyn_conversationmessageblock", created, owner=agent,
                                   msdyn_conversationmessageblockid=self.s.guid(), msdyn_name="Message block 1",
                                   msdyn_ocliveworkitemid=cid, msdyn_agentid=agent, msdyn_agentmessagetime=last_at,
                                   msdyn_customermessagetimestamp=created_at,
                                   msdyn_responsetimenotadjforoh=float(rng.randrange(5, 300)),
                                   msdyn_inboundmessagecountwithinoh=rng.randrange(1, 12),
                                   msdyn_outboundmessagecountwithinoh=rng.randrange(1, 12),
                                   msdyn_isfirstresponsetime=True))
            items += [self.row("msdyn_ocliveworkitemcontextitem", _epoch(created_at), owner=agent,
                               msdyn_ocliveworkitemcontextitemid=self.s.guid(), msdyn_name=name, msdyn_value=value,
                               msdyn_datatype=datatype, msdyn_isdisplayable=True, msdyn_ocliveworkitemid=cid)
                      for name, value, datatype in (("msdyn_customer", customer or "", 192350100),
                                                    ("Locale", "en-us", 192350000))]
        yield "msdyn_transcript", transcripts
        yield "annotation", notes
        yield "msdyn_conversationmessageblock", blocks
        yield "msdyn_ocliveworkitemcontextitem", items
        sc = self.s.columns["msdyn_ocsession"]
        sid, sagent, squeue, screated = (sc.index(c) for c in ("activityid", "msdyn_activeagentid", "msdyn_cdsqueueid",
                                                               "msdyn_sessioncreatedon"))
        yield "msdyn_sessionparticipant", [
            self.row("msdyn_sessionparticipant", _epoch(s[screated]), owner=s[sagent],
                     msdyn_sessionparticipantid=self.s.guid(), msdyn_name="Primary agent",
                     msdyn_omnichannelsession=s[sid], msdyn_agentid=s[sagent], msdyn_cdsqueueid=s[squeue],
                     msdyn_mode=192350002, msdyn_assignreason="AgentAccepted", msdyn_joinedon=s[screated])
            for s in self.first_sessions if s[sagent] is not None]


def _epoch(instant: str) -> int:
    return int(datetime.fromisoformat(instant).timestamp())


def _transcript(title: str) -> str:
    body = f'[{{"from":"customer","text":"Hi, {title}"}},{{"from":"agent","text":"Happy to help."}}]'
    return base64.b64encode(body.encode()).decode()
