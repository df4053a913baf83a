"""Deterministic, coherent demo data. Faker builds small value pools once; rows draw from them with one seeded
RNG, which keeps the same seed byte-identical (for the same clock).

A million conversations must seed in well under a minute (issue 7), so the per-row path is lean: rows are tuples
in a fixed column order, instants are whole epoch seconds formatted from precomputed strings, GUIDs are formatted
from random 128-bit integers, weighted choices index precomputed lists, and rows stream to the database in
batches. Nothing held grows with the number of conversations but the agent and (capped) customer pools."""
from __future__ import annotations

import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice

import sqlalchemy as sa
from faker import Faker
from tqdm import tqdm

from .. import metadata
from ..clock import format_instant
from .database import Database, bulk_load
from .records import ROOT_BUSINESS_UNIT_ID, composite_address, full_name, rules
from .reference import ReferenceData

DOC_AGENT_ID = "2b330c52-6844-4d36-8e05-03c78c9681dc"  # the getConversations documentation's example agent
DOC_AGENT_NAME = "Alex Rivera"
ADMIN_USER_ID = "6f1d0c3a-8e2b-4f7a-9c5d-1a2b3c4d5e6f"  # the caller WhoAmI reports; owns unassigned rows
ADMIN_USER_NAME = "Emulator Administrator"

# (channel option value, work stream name, distribution mode, weight)
WORK_STREAMS = (
    (192360000, "Live chat - Support", 192350000, 40), (192340000, "SMS", 192350000, 12),
    (192300000, "WhatsApp", 192350000, 14), (192330000, "Facebook", 192350001, 8),
    (192370000, "Voice", 192350000, 18), (19241000, "Microsoft Teams", 192350001, 8),
)
VOICE = 192370000
CITIES = (("Seattle", "WA", "98101", "United States"), ("Redmond", "WA", "98052", "United States"),
          ("Austin", "TX", "78701", "United States"), ("Dublin", "", "D02", "Ireland"), ("Oslo", "", "0150", "Norway"))
QUEUES = ("Default messaging queue", "Billing", "Technical support", "Sales")
TOPICS = ("Refund for order", "Billing question", "Password reset", "Delivery delay", "Cancel subscription",
          "Upgrade plan", "Damaged item", "Warranty claim", "Invoice copy", "Change address", "Login problem",
          "Product availability", "Payment failed", "Return label", "Account locked", "Feature request")

# statuscode -> (statecode, weight, status change reason)
STATUSES = {1: (0, 10, 192350001), 2: (0, 15, 192350003), 3: (0, 12, 192350004), 5: (0, 8, 192350005),
            4: (1, 55, 192350008)}
ABANDONED_REASON = 192350012
# The documentation's example agent always has these, so the documented example returns rows out of the box.
DOC_AGENT_STATUSES = (3, 3, 3, 2, 2, 5, 4, 4)
BATCH = 10000  # conversations per executemany: big enough to amortise the call, small enough to keep memory flat
DAY = 86400
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# The server-set columns, from the record API's rules: the row builders below fill them with `Rules.stamp`.
STAMPED = {t.logical_name: rules(t).stamped for t in metadata.SHIPPED.tables}
# Each row builder below returns a tuple with these columns, in the table's order; columns not listed stay NULL.
COLUMNS = {
    "systemuser": ("systemuserid", "fullname", "firstname", "lastname", "internalemailaddress", "domainname",
                   "title", "isdisabled", "jobtitle", "businessunitid", "accessmode", "caltype", "islicensed",
                   *STAMPED["systemuser"]),
    "msdyn_liveworkstream": ("msdyn_liveworkstreamid", "msdyn_name", "msdyn_streamsource", "msdyn_mode",
                             "msdyn_capacityrequired", *STAMPED["msdyn_liveworkstream"], "statecode", "statuscode"),
    "queue": ("queueid", "name", "msdyn_queuetype", "description", *STAMPED["queue"], "statecode", "statuscode"),
    "msdyn_omnichannelqueue": ("msdyn_omnichannelqueueid", "msdyn_name", *STAMPED["msdyn_omnichannelqueue"],
                               "statecode", "statuscode"),
    "account": ("accountid", "name", "accountnumber", "address1_city", "industrycode", "revenue", "revenue_base",
                "numberofemployees", "address1_line1", "address1_stateorprovince", "address1_postalcode",
                "address1_country", "address1_composite", "primarycontactid", "telephone1", "emailaddress1",
                "websiteurl", *STAMPED["account"], "statecode", "statuscode"),
    "contact": ("contactid", "fullname", "firstname", "lastname", "parentcustomerid", "parentcustomerid__target",
                "jobtitle", "address1_city", "address1_composite", "telephone1", "emailaddress1",
                *STAMPED["contact"], "statecode", "statuscode"),
    "msdyn_ocliveworkitem": (
        "activityid", "msdyn_ocliveworkitemid", "subject", "msdyn_title", "statecode", "statuscode", "msdyn_channel",
        "msdyn_activeagentid", "msdyn_liveworkstreamid", "msdyn_lastsessionid", "msdyn_queueid", "msdyn_cdsqueueid",
        "msdyn_customer", "msdyn_customer__target", "activitytypecode", "msdyn_createdon", "msdyn_modifiedon",
        "msdyn_closedon", "msdyn_startedon", "msdyn_initiatedon", "msdyn_activeagentassignedon",
        "msdyn_firstwaitstartedon", "msdyn_statusupdatedon", "msdyn_wrapupinitiatedon", "msdyn_isoutbound",
        "msdyn_isabandoned", "msdyn_isagentaccepted", "msdyn_copilotengaged", "msdyn_thirdpartyconversation",
        "msdyn_isagentsession", "msdyn_firstresponsetimeinmsadjforoh", "msdyn_averageresponsetimeinmsadjforoh",
        "msdyn_conversationfirstwaittimeinseconds", "msdyn_conversationhandletimeinseconds",
        "msdyn_conversationholdtimeinseconds", "msdyn_conversationtalktimeinseconds",
        "msdyn_conversationwrapuptimeinseconds", "msdyn_transfercount", "msdyn_escalationcount",
        "msdyn_statuschangereason", "msdyn_workstreamworkdistributionmode", "msdyn_customersentimentlabel",
        "prioritycode", *STAMPED["msdyn_ocliveworkitem"]),
    "msdyn_ocsession": (
        "activityid", "subject", "msdyn_liveworkitemid", "msdyn_channel", "msdyn_activeagentid", "msdyn_cdsqueueid",
        "msdyn_sessioncreatedon", "msdyn_agentassignedon", "msdyn_agentacceptedon", "msdyn_sessionclosedon",
        "activitytypecode", "statecode", "statuscode", *STAMPED["msdyn_ocsession"]),
}

# uuid.UUID(int=bits, version=4) without the object: clear the version and variant bits, set 4 and RFC 4122.
_GUID_KEEP = ~((0xF000 << 64) | (0xC000 << 48))
_GUID_SET = (0x4000 << 64) | (0x8000 << 48)


@dataclass
class SeedResult:
    conversations: int
    sessions: int
    agents: int
    seconds: float = 0.0


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def _first_and_last(full_name: str) -> tuple[str, str]:
    first, last = full_name.split()
    return first, last


def _weighted(pairs: Iterable[tuple[object, int]]) -> list:
    """Each value repeated by its weight: a uniform index into the list is a weighted choice (one random())."""
    return [value for value, weight in pairs for _ in range(weight)]


def _copy_statement(logical_name: str, columns: tuple[str, ...]):
    """`COPY table (columns) FROM STDIN`, identifiers quoted by psycopg (text format: PostgreSQL parses each value
    as its column's type, so 0/1 fill Boolean columns as they do on SQLite)."""
    from psycopg import sql

    return sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(logical_name), sql.SQL(", ").join(map(sql.Identifier, columns)))


class Instants:
    """Epoch seconds (UTC) -> `YYYY-MM-DDTHH:MM:SSZ`, as two list lookups: the day's strings for `days` days up to
    `now`, and the 86,400 times of day. Call it, or index `day`/`time` directly on hot paths."""

    def __init__(self, now: int, days: int) -> None:
        self.first_day = now // DAY - days
        self.day = [format_instant(EPOCH + timedelta(days=self.first_day + i))[:11] for i in range(days + 1)]
        self.time = [f"{h:02d}:{m:02d}:{s:02d}Z" for h in range(24) for m in range(60) for s in range(60)]

    def __call__(self, seconds: int) -> str:
        return self.day[seconds // DAY - self.first_day] + self.time[seconds % DAY]


class Seeder:
    columns = COLUMNS  # what store/reference.py reads (it may not import this module: seed imports it)
    def __init__(self, db: Database, *, seed: int, now: datetime) -> None:
        self.db = db
        self.rng = random.Random(seed)
        self.faker = Faker("en_US")
        self.faker.seed_instance(seed)
        self.now = int(now.astimezone(UTC).timestamp())
        self.instant = Instants(self.now, 400)  # the oldest rows (users) were set up 400 days ago
        self.version = 1000
        self.statements: dict[str, str] = {}
        self.rules = {name: rules(metadata.table(name)) for name in db.tables}
        self.columns = dict(COLUMNS)  # and, once inserted, the reference tables' (from their dict rows)

    # -- helpers ---------------------------------------------------------------------------------------------
    def guid(self) -> str:
        h = (self.rng.getrandbits(128) & _GUID_KEEP | _GUID_SET).to_bytes(16, "big").hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def stamp(self, logical_name: str, created: int) -> tuple:
        """The server-set columns of a reference row the administrator created at `created` (epoch seconds)."""
        self.version += 1
        at = self.instant(created)
        return self.rules[logical_name].stamp(at, at, ADMIN_USER_ID, self.version)

    def owned(self, logical_name: str, created: int, state: int = 0) -> tuple:
        """`stamp`, then statecode and its default statuscode."""
        return (*self.stamp(logical_name, created), state, self.rules[logical_name].default_status(state))

    def _insert(self, conn, logical_name: str, rows: list) -> None:
        """Rows as tuples of COLUMNS[table], or (the smaller tables of reference.py) dicts, all with the same
        keys: those become tuples in the table's column order first."""
        if isinstance(rows[0], dict):
            columns = tuple(c.name for c in self.db.tables[logical_name].c if c.name in rows[0])
            if self.columns.setdefault(logical_name, columns) != columns or any(len(r) != len(columns) for r in rows):
                raise AssertionError(f"rows of {logical_name} must all have the same columns")
            rows = [tuple(row[c] for c in columns) for row in rows]
        self._insert_tuples(conn, logical_name, rows)

    def _insert_tuples(self, conn, logical_name: str, rows: Iterable[tuple]) -> None:
        """The tuples go straight to the DB-API cursor: executemany on SQLite, COPY on PostgreSQL (psycopg); values
        are already in stored form, so no bind processing is lost. Other drivers: batches through SQLAlchemy."""
        if self.db.is_sqlite:
            conn.connection.cursor().executemany(self._sqlite_insert(logical_name), rows)
            return
        if conn.dialect.driver == "psycopg":
            with conn.connection.cursor().copy(_copy_statement(logical_name, self.columns[logical_name])) as copy:
                for row in rows:
                    copy.write_row(row)
            return
        table, columns, rows = self.db.tables[logical_name], self.columns[logical_name], iter(rows)
        while batch := [dict(zip(columns, row, strict=False)) for row in islice(rows, BATCH)]:
            conn.execute(table.insert(), batch)

    def _sqlite_insert(self, logical_name: str) -> str:
        """The INSERT SQLAlchemy compiles for the table's COLUMNS (which it puts in the table's order)."""
        if logical_name not in self.statements:
            columns = self.columns[logical_name]
            statement = self.db.tables[logical_name].insert().compile(dialect=self.db.engine.dialect,
                                                                      column_keys=list(columns))
            if statement.positiontup is None or tuple(statement.positiontup) != columns:
                raise AssertionError(f"COLUMNS[{logical_name!r}] must be the table's columns, in its order")
            self.statements[logical_name] = str(statement)
        return self.statements[logical_name]

    # -- reference data --------------------------------------------------------------------------------------
    def users(self, agents: int, firsts: list[str], lasts: list[str]) -> list[tuple]:
        setup = self.now - 400 * DAY
        rows = [self._user(ADMIN_USER_ID, *_first_and_last(ADMIN_USER_NAME), "Administrator", setup),
                self._user(DOC_AGENT_ID, *_first_and_last(DOC_AGENT_NAME), "Customer Service Agent", setup)]
        choice = self.rng.choice
        for i in range(max(agents, 1) - 1):
            title = "Customer Service Supervisor" if i % 8 == 7 else "Customer Service Agent"
            rows.append(self._user(self.guid(), choice(firsts), choice(lasts), title, setup))
        return rows

    def _user(self, uid: str, first: str, last: str, title: str, created: int) -> tuple:
        email = f"{first}.{last}@contoso.example".lower()
        return (uid, full_name(first, None, last), first, last, email, email, title, 0, title,
                ROOT_BUSINESS_UNIT_ID, 0, 0, 1, *self.stamp("systemuser", created))

    def work_streams(self) -> list[tuple]:
        created = self.now - 365 * DAY
        return [(self.guid(), name, channel, mode, 50 if channel == VOICE else 20,
                 *self.owned("msdyn_liveworkstream", created))
                for channel, name, mode, _ in WORK_STREAMS]

    def queues(self) -> tuple[list[tuple], list[tuple]]:
        created = self.now - 365 * DAY
        queues = [(self.guid(), name, 192350000, f"{name} for Omnichannel conversations", *self.owned("queue", created))
                  for name in QUEUES]
        legacy = [(self.guid(), name, *self.owned("msdyn_omnichannelqueue", created)) for name in QUEUES]
        return queues, legacy

    def accounts(self, conversations: int) -> list[tuple]:
        """Account rows; each one's primary contact is drawn here (contacts() makes that contact, works for it)."""
        created = self.now - 200 * DAY
        companies = [self.faker.company() for _ in range(min(300, conversations // 10 + 10))]
        streets = [self.faker.street_address() for _ in range(100)]
        rows = []
        rng = self.rng
        for i in range(_clamp(conversations // 20, 10, 20000)):
            name = companies[i] if i < len(companies) else f"{rng.choice(companies)} {i}"
            city, state, postal, country = rng.choice(CITIES)
            street = rng.choice(streets)
            revenue = float(rng.randrange(1, 5000) * 10000)
            domain = "".join(ch for ch in name.lower() if ch.isalnum())[:30] or "example"
            rows.append((self.guid(), name, f"ACC-{10000 + i}", city, rng.randrange(1, 34), revenue, revenue,
                         rng.choice((12, 50, 120, 400, 1500, 8000)), street, state, postal, country,
                         composite_address({"line1": street, "city": city, "stateorprovince": state,
                                            "postalcode": postal, "country": country}),
                         self.guid(), f"+1-555-{rng.randrange(1000, 9999)}", f"info@{domain}.example",
                         f"https://www.{domain}.example", *self.owned("account", created)))
        return rows

    def contacts(self, conversations: int, accounts: list[tuple], firsts: list[str], lasts: list[str],
                 pool: list[tuple[str, str]]) -> Iterator[tuple]:
        """Contact rows, streamed; each one's (id, full name) also goes into `pool` for conversations to draw."""
        created = self.now - 200 * DAY
        choice = self.rng.choice
        primary = COLUMNS["account"].index("primarycontactid")
        titles = ("Purchasing Manager", "Owner", "IT Director", "Office Manager", "Buyer", "CFO", "Analyst")
        for i in range(_clamp(conversations // 5, 20, 100000)):
            first, last = choice(firsts), choice(lasts)
            # the first contact of each account is its primary contact, with the id the account drew
            account = accounts[i] if i < len(accounts) else choice(accounts)
            cid = account[primary] if i < len(accounts) else self.guid()
            name = full_name(first, None, last) or last
            pool.append((cid, name))
            city = account[3]
            yield (cid, name, first, last, account[0], "account", choice(titles), city,
                   composite_address({"city": city}), f"+1-555-{self.rng.randrange(1000, 9999)}",
                   f"{first}.{last}{i}@example.com".lower(), *self.owned("contact", created))

    # -- conversations ---------------------------------------------------------------------------------------
    def conversations(self, count: int, agent_ids: list[str], streams: list[tuple], queues: list[tuple],
                      legacy_queues: list[tuple], accounts: list[tuple[str, str]], contacts: list[tuple[str, str]]
                      ) -> Iterator[tuple[tuple, list[tuple]]]:
        """(conversation row, its session rows) per conversation. One function on purpose: at a million rows
        every attribute look-up and call counts, so the RNG, pools and formatter are locals here."""
        random, guid, instant_day, instant_time = self.rng.random, self.guid, self.instant.day, self.instant.time
        conversation, session = self.rules["msdyn_ocliveworkitem"], self.rules["msdyn_ocsession"]
        conversation_stamp, session_stamp = conversation.stamp, session.stamp
        now, first_day = self.now, self.instant.first_day
        statuses = _weighted((s, w) for s, (_, w, _) in STATUSES.items())
        stream_pick = _weighted(((s[0], s[2], s[3]), w) for s, (*_, w) in zip(streams, WORK_STREAMS, strict=False))
        transfer_pick = _weighted(((0, 80), (1, 15), (2, 5)))
        priority_pick = _weighted(((0, 10), (1, 75), (2, 15)))
        sentiments = (0, 8, 9, 10, 10, 11, 12)
        queue_pick = [(q[0], legacy[0]) for q, legacy in zip(queues, legacy_queues, strict=False)]
        agents, n_agents = agent_ids, len(agent_ids)
        n_accounts, n_contacts = len(accounts), len(contacts)
        version = self.version
        forced = len(DOC_AGENT_STATUSES)
        agent: str | None
        for n in range(count):
            if n < forced:
                status, agent = DOC_AGENT_STATUSES[n], DOC_AGENT_ID
            else:
                status = statuses[int(random() * 100)]
                # Who handles it: Active/Waiting/Wrap-up always have an agent; most Open ones and abandoned ones none.
                if status == 1:
                    agent = agents[int(random() * n_agents)] if random() < 0.25 else None
                elif status == 4:
                    agent = agents[int(random() * n_agents)] if random() < 0.9 else None
                else:
                    agent = agents[int(random() * n_agents)]
            stream_id, channel, mode = stream_pick[int(random() * 100)]
            queue_id, legacy_id = queue_pick[int(random() * 4)]
            if random() < 0.3:
                (customer_id, customer_name), customer_type = accounts[int(random() * n_accounts)], "account"
            else:
                (customer_id, customer_name), customer_type = contacts[int(random() * n_contacts)], "contact"
            wait = 5 + int(random() * 896)
            handle = 120 + int(random() * 3481)
            wrapup = 30 + int(random() * 571)
            # the timeline, in seconds: how long it has been going, and (for closed ones) since when it is over
            if status == 1:
                span, max_age = wait, 3 * DAY
            elif status == 3:
                span, max_age = wait + handle + 3600 + int(random() * 255601), 30 * DAY  # waiting 1-72 h
            elif status == 4:
                span, max_age = wait + handle + wrapup, 90 * DAY
            else:
                span, max_age = wait + handle, 3 * DAY
            age = span + int(random() * (max_age + 1))
            created = now - (min(age, 90 * DAY - 1) if status == 4 else age)
            if created + span > now:  # keep every timeline instant in the past
                created = now - span
            assigned = created + wait if agent else None
            closed = wrap_started = None
            if status == 4:
                closed = created + span if agent else created + wait
                wrap_started = created + wait + handle if agent else None
            elif status == 5:
                wrap_started = created + wait + handle
            last_event = closed or wrap_started or ((assigned + handle) if status == 3 and assigned is not None
                                                    else assigned) or created  # Waiting ones have an agent
            created_at = instant_day[created // DAY - first_day] + instant_time[created % DAY]
            last_at = instant_day[last_event // DAY - first_day] + instant_time[last_event % DAY]
            assigned_at = instant_day[assigned // DAY - first_day] + instant_time[assigned % DAY] \
                if assigned is not None else None
            topic = TOPICS[int(random() * 16)]
            title = f"{topic} #{10000 + n}"
            cid = guid()
            transfers = transfer_pick[int(random() * 100)] if agent else 0
            version += 1
            conv_version = version

            # one session per agent leg; the last one is the conversation's msdyn_lastsessionid
            sessions = []
            start, start_at = created, created_at
            legs = transfers + 1
            for leg in range(legs):
                last = leg == legs - 1
                session_agent = agent if last else agents[int(random() * n_agents)]
                if last:
                    end, end_at = last_event, last_at
                else:
                    end = start + (last_event - start) // (legs - leg + 1)
                    end_at = instant_day[end // DAY - first_day] + instant_time[end % DAY]
                open_ = last and status != 4
                accepted_at = (assigned_at if last and assigned else start_at) if session_agent else None
                version += 1
                sessions.append((
                    guid(), f"Session {leg + 1}: {title}", cid, channel, session_agent, queue_id, start_at,
                    accepted_at, accepted_at, None if open_ else end_at, session.activity_type, 0 if open_ else 1,
                    1 if open_ else 2, *session_stamp(start_at, end_at, ADMIN_USER_ID, version, session_agent)))
                start, start_at = end, end_at

            # flags as 0/1: stored the same, read back as booleans, but SQLite binds ints far faster than bools
            served = 0 if agent is None else 1
            ended = status == 4 or status == 5
            yield (
                cid, cid, f"{topic} ({customer_name})"[:200], title, STATUSES[status][0], status, str(channel),
                agent, stream_id, sessions[-1][0], legacy_id, queue_id, customer_id, customer_type,
                conversation.activity_type, created_at, last_at,
                instant_day[closed // DAY - first_day] + instant_time[closed % DAY] if closed else None,
                created_at, created_at, assigned_at, created_at, last_at,
                instant_day[wrap_started // DAY - first_day] + instant_time[wrap_started % DAY] if wrap_started
                else None, int(random() < 0.05), int(status == 4 and not served), served, int(random() < 0.2), 0, 1,
                round(2000 + random() * 88000, 2) if served else None,
                round(5000 + random() * 115000, 2) if served else None,
                wait if served else None, handle if ended and served else None, 0 if served else None,
                int(handle * 0.8) if channel == VOICE and served and ended else None,
                wrapup if status == 4 and served else None, transfers, 0,
                ABANDONED_REASON if status == 4 and not served else STATUSES[status][2], mode,
                sentiments[int(random() * 7)] if served else 0, priority_pick[int(random() * 100)],
                *conversation_stamp(created_at, last_at, ADMIN_USER_ID, conv_version, agent),
            ), sessions
        self.version = version

    # -- the whole data set ----------------------------------------------------------------------------------
    def batches(self, conversations: int, agents: int) -> Iterator[tuple[str, list]]:
        """The data set as (table, rows) batches, in insertion order."""
        firsts = [self.faker.first_name() for _ in range(300)]
        lasts = [self.faker.last_name() for _ in range(300)]
        users = self.users(agents, firsts, lasts)
        streams = self.work_streams()
        queues, legacy = self.queues()
        accounts = self.accounts(conversations)
        yield from (("systemuser", users), ("msdyn_liveworkstream", streams), ("queue", queues),
                    ("msdyn_omnichannelqueue", legacy), ("account", accounts))
        contacts: list[tuple[str, str]] = []
        rows = self.contacts(conversations, accounts, firsts, lasts, contacts)
        while batch := list(islice(rows, BATCH)):
            yield "contact", batch
        reference = ReferenceData(self, users, accounts, contacts, queues)
        yield from reference.before_conversations()
        convs: list[tuple] = []
        sessions: list[tuple] = []
        for conv, conv_sessions in self.conversations(conversations, [u[0] for u in users if u[0] != ADMIN_USER_ID],
                                                      streams, queues, legacy, [(a[0], a[1]) for a in accounts],
                                                      contacts):
            convs.append(conv)
            sessions += conv_sessions
            if len(convs) == BATCH:
                reference.note_conversations(convs, sessions)
                yield from (("msdyn_ocliveworkitem", convs), ("msdyn_ocsession", sessions))
                convs, sessions = [], []
        reference.note_conversations(convs, sessions)
        yield from (("msdyn_ocliveworkitem", convs), ("msdyn_ocsession", sessions))
        yield from reference.after_conversations()

    def run(self, conversations: int, agents: int, progress: bool | None = None) -> SeedResult:
        show = conversations >= 20000 if progress is None else progress
        counts = dict.fromkeys(self.db.tables, 0)
        with (bulk_load(self.db, ("msdyn_ocliveworkitem", "msdyn_ocsession")) as conn,
              tqdm(total=conversations, unit="conv", desc="Seeding conversations", disable=not show) as bar):
            for name, rows in self.batches(conversations, agents):
                if rows:
                    self._insert(conn, name, rows)
                counts[name] += len(rows)
                if name == "msdyn_ocliveworkitem":
                    bar.update(len(rows))
        return SeedResult(conversations, counts["msdyn_ocsession"], counts["systemuser"] - 1)


def clear(db: Database) -> None:
    """Delete every row of every table (schema kept)."""
    with db.engine.begin() as conn:
        for sql_table in db.tables.values():  # the stored tables (not the activitypointer view)
            conn.execute(sa.delete(sql_table))


def seed(db: Database, *, conversations: int = 500, agents: int = 12, seed: int = 42,
         now: datetime | None = None, reset: bool = False, progress: bool | None = None) -> SeedResult:
    """Seed the default data set. Refuses to mix with existing rows unless `reset` is given."""
    if conversations < 0 or agents < 1:
        raise ValueError("conversations must be >= 0 and agents >= 1")
    db.create_schema()
    if reset:
        clear(db)
    elif not db.is_empty() or db.count("systemuser"):
        raise ValueError(f"the database already holds {db.count('msdyn_ocliveworkitem')} conversations; "
                         "pass --reset to replace them")
    started = time.perf_counter()
    result = Seeder(db, seed=seed, now=now or datetime.now(UTC)).run(conversations, agents, progress)
    result.seconds = time.perf_counter() - started
    return result
