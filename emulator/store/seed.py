"""Deterministic, coherent demo data. Faker builds small value pools once; rows draw from them with one seeded
RNG, which keeps a million-row seed fast and the same seed byte-identical (for the same clock)."""
from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterator

import sqlalchemy as sa
from faker import Faker
from tqdm import tqdm

from ..metadata import ALL_TABLES
from .database import Database
from .schema import format_instant as _format_any


def format_instant(value: datetime) -> str:
    """schema.format_instant, without its conversions for the UTC datetimes seeding makes (a quarter of the time)."""
    if value.tzinfo is timezone.utc:
        return value.isoformat(timespec="seconds")[:19] + "Z"
    return _format_any(value)

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
QUEUES = ("Default messaging queue", "Billing", "Technical support", "Sales")
TOPICS = ("Refund for order", "Billing question", "Password reset", "Delivery delay", "Cancel subscription",
          "Upgrade plan", "Damaged item", "Warranty claim", "Invoice copy", "Change address", "Login problem",
          "Product availability", "Payment failed", "Return label", "Account locked", "Feature request")

# statuscode -> (statecode, weight, status change reason)
STATUSES = {1: (0, 10, 192350001), 2: (0, 15, 192350003), 3: (0, 12, 192350004), 5: (0, 8, 192350005),
            4: (1, 55, 192350008)}
# The documentation's example agent always has these, so the documented example returns rows out of the box.
DOC_AGENT_STATUSES = (3, 3, 3, 2, 2, 5, 4, 4)
BATCH = 5000


@dataclass
class SeedResult:
    conversations: int
    sessions: int
    agents: int
    seconds: float = 0.0


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


class Seeder:
    def __init__(self, db: Database, *, seed: int, now: datetime) -> None:
        self.db = db
        self.rng = random.Random(seed)
        self.faker = Faker("en_US")
        self.faker.seed_instance(seed)
        self.now = now.astimezone(timezone.utc).replace(microsecond=0)
        self.version = 1000

    # -- helpers ---------------------------------------------------------------------------------------------
    def guid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def next_version(self) -> int:
        self.version += 1
        return self.version

    def audit(self, created: datetime, modified: datetime | None = None) -> dict:
        return {"createdon": format_instant(created), "modifiedon": format_instant(modified or created),
                "createdby": ADMIN_USER_ID, "modifiedby": ADMIN_USER_ID, "versionnumber": self.next_version()}

    def _insert(self, conn, logical_name: str, rows: list[dict]) -> None:
        """Every row carries every column (executemany needs one shape). On SQLite, tuples go straight to the
        DB-API cursor with the INSERT that SQLAlchemy compiles from the metadata; values are already in stored
        form, so no bind processing is lost."""
        if not rows:
            return
        table = self.db.tables[logical_name]
        columns = table.c.keys()
        if self.db.is_sqlite:
            statement = str(table.insert().compile(dialect=self.db.engine.dialect))
            conn.connection.cursor().executemany(statement, [tuple(map(row.get, columns)) for row in rows])
        else:
            conn.execute(table.insert(), [{c: row.get(c) for c in columns} for row in rows])

    # -- reference data --------------------------------------------------------------------------------------
    def users(self, agents: int) -> list[dict]:
        setup = self.now - timedelta(days=400)
        rows = [self._user(ADMIN_USER_ID, ADMIN_USER_NAME.split()[0], ADMIN_USER_NAME.split()[1], "Administrator",
                           setup),
                self._user(DOC_AGENT_ID, *DOC_AGENT_NAME.split(), "Customer Service Agent", setup)]
        for i in range(max(agents, 1) - 1):
            title = "Customer Service Supervisor" if i % 8 == 7 else "Customer Service Agent"
            rows.append(self._user(self.guid(), self.faker.first_name(), self.faker.last_name(), title, setup))
        return rows

    def _user(self, uid: str, first: str, last: str, title: str, created: datetime) -> dict:
        email = f"{first}.{last}@contoso.example".lower()
        return {"systemuserid": uid, "fullname": f"{first} {last}", "firstname": first, "lastname": last,
                "internalemailaddress": email, "domainname": email, "title": title, "isdisabled": False,
                **self.audit(created)}

    def owned(self, created: datetime, state: int = 0) -> dict:
        return {**self.audit(created), "ownerid": ADMIN_USER_ID, "ownerid__target": "systemuser",
                "statecode": state, "statuscode": 1 if state == 0 else 2}

    def work_streams(self) -> list[dict]:
        created = self.now - timedelta(days=365)
        return [{"msdyn_liveworkstreamid": self.guid(), "msdyn_name": name, "msdyn_streamsource": channel,
                 "msdyn_mode": mode, "msdyn_capacityrequired": 50 if channel == 192370000 else 20,
                 **self.owned(created)} for channel, name, mode, _ in WORK_STREAMS]

    def queues(self) -> tuple[list[dict], list[dict]]:
        created = self.now - timedelta(days=365)
        queues = [{"queueid": self.guid(), "name": name, "msdyn_queuetype": 192350000,
                   "description": f"{name} for Omnichannel conversations", **self.owned(created)} for name in QUEUES]
        legacy = [{"msdyn_omnichannelqueueid": self.guid(), "msdyn_name": name, **self.owned(created)}
                  for name in QUEUES]
        return queues, legacy

    def customers(self, conversations: int) -> tuple[list[dict], list[dict]]:
        created = self.now - timedelta(days=200)
        companies = [self.faker.company() for _ in range(min(300, conversations // 10 + 10))]
        firsts = [self.faker.first_name() for _ in range(300)]
        lasts = [self.faker.last_name() for _ in range(300)]
        accounts = []
        for i in range(_clamp(conversations // 20, 10, 20000)):
            name = companies[i] if i < len(companies) else f"{self.rng.choice(companies)} {i}"
            accounts.append({"accountid": self.guid(), "name": name, "accountnumber": f"ACC-{10000 + i}",
                             "telephone1": f"+1-555-{self.rng.randrange(1000, 9999)}",
                             "address1_city": self.rng.choice(("Seattle", "Redmond", "Austin", "Dublin", "Oslo")),
                             **self.owned(created)})
        contacts = []
        for i in range(_clamp(conversations // 5, 20, 100000)):
            first, last = self.rng.choice(firsts), self.rng.choice(lasts)
            account = self.rng.choice(accounts)
            contacts.append({"contactid": self.guid(), "fullname": f"{first} {last}", "firstname": first,
                             "lastname": last, "emailaddress1": f"{first}.{last}{i}@example.com".lower(),
                             "parentcustomerid": account["accountid"], "parentcustomerid__target": "account",
                             **self.owned(created)})
        return accounts, contacts

    # -- conversations ---------------------------------------------------------------------------------------
    def conversations(self, count: int, agents: list[dict], streams: list[dict], queues: list[dict],
                      legacy_queues: list[dict], accounts: list[dict], contacts: list[dict]
                      ) -> Iterator[tuple[dict, list[dict]]]:
        rng = self.rng
        agent_ids = [a["systemuserid"] for a in agents if a["systemuserid"] != ADMIN_USER_ID]
        statuses = list(STATUSES)
        status_weights = [STATUSES[s][1] for s in statuses]
        stream_weights = [w for *_, w in WORK_STREAMS]
        for n in range(count):
            forced = n < len(DOC_AGENT_STATUSES)
            status = DOC_AGENT_STATUSES[n] if forced else rng.choices(statuses, status_weights)[0]
            stream = rng.choices(streams, stream_weights)[0]
            qi = rng.randrange(len(queues))
            if rng.random() < 0.3:
                customer, customer_type, customer_name = rng.choice(accounts), "account", None
                customer_name = customer["name"]
                customer_id = customer["accountid"]
            else:
                customer, customer_type = rng.choice(contacts), "contact"
                customer_name, customer_id = customer["fullname"], customer["contactid"]
            # Who handles it: Active/Waiting/Wrap-up always have an agent; most Open ones and abandoned ones none.
            if forced:
                agent = DOC_AGENT_ID
            elif status == 1:
                agent = rng.choice(agent_ids) if rng.random() < 0.25 else None
            elif status == 4:
                agent = rng.choice(agent_ids) if rng.random() < 0.9 else None
            else:
                agent = rng.choice(agent_ids)
            yield self._conversation(n, status, agent, stream, queues[qi], legacy_queues[qi],
                                     customer_id, customer_type, customer_name, agent_ids)

    def _conversation(self, n: int, status: int, agent: str | None, stream: dict, queue: dict, legacy: dict,
                      customer_id: str, customer_type: str, customer_name: str, agent_ids: list[str]
                      ) -> tuple[dict, list[dict]]:
        rng = self.rng
        wait = timedelta(seconds=rng.randint(5, 900))
        handle = timedelta(seconds=rng.randint(120, 3600))
        wrapup = timedelta(seconds=rng.randint(30, 600))
        waiting = timedelta(hours=rng.uniform(1, 72))
        span = {1: wait, 2: wait + handle, 3: wait + handle + waiting, 5: wait + handle, 4: wait + handle + wrapup}
        max_age = {4: 90, 3: 30}.get(status, 3)
        age = span[status] + timedelta(seconds=rng.randint(0, max_age * 86400))
        created = self.now - min(age, timedelta(days=90) - timedelta(seconds=1)) if status == 4 else self.now - age
        if created + span[status] > self.now:  # keep every timeline instant in the past
            created = self.now - span[status]
        assigned = created + wait if agent else None
        channel = stream["msdyn_streamsource"]
        closed = wrap_started = None
        if status == 4:
            closed = created + span[4] if agent else created + wait
            wrap_started = created + wait + handle if agent else None
        elif status == 5:
            wrap_started = created + wait + handle
        last_event = closed or wrap_started or ((assigned + handle) if status == 3 else assigned) or created
        topic = rng.choice(TOPICS)
        cid = self.guid()
        transfers = 0 if not agent else rng.choices((0, 1, 2), (80, 15, 5))[0]
        fmt = format_instant
        row = {
            "activityid": cid, "msdyn_ocliveworkitemid": cid,
            "subject": f"{topic} ({customer_name})"[:200],
            "msdyn_title": f"{topic} #{10000 + n}", "statecode": STATUSES[status][0], "statuscode": status,
            "msdyn_channel": str(channel), "msdyn_activeagentid": agent,
            "msdyn_liveworkstreamid": stream["msdyn_liveworkstreamid"],
            "msdyn_queueid": legacy["msdyn_omnichannelqueueid"], "msdyn_cdsqueueid": queue["queueid"],
            "msdyn_customer": customer_id, "msdyn_customer__target": customer_type,
            "activitytypecode": "msdyn_ocliveworkitem",
            "msdyn_createdon": fmt(created), "msdyn_modifiedon": fmt(last_event), "msdyn_startedon": fmt(created),
            "msdyn_initiatedon": fmt(created), "msdyn_firstwaitstartedon": fmt(created),
            "msdyn_activeagentassignedon": fmt(assigned) if assigned else None,
            "msdyn_closedon": fmt(closed) if closed else None,
            "msdyn_wrapupinitiatedon": fmt(wrap_started) if wrap_started else None,
            "msdyn_statusupdatedon": fmt(last_event),
            "msdyn_isoutbound": rng.random() < 0.05, "msdyn_isabandoned": status == 4 and not agent,
            "msdyn_isagentaccepted": agent is not None, "msdyn_copilotengaged": rng.random() < 0.2,
            "msdyn_thirdpartyconversation": False, "msdyn_isagentsession": True,
            "msdyn_firstresponsetimeinmsadjforoh": round(rng.uniform(2000, 90000), 2) if agent else None,
            "msdyn_averageresponsetimeinmsadjforoh": round(rng.uniform(5000, 120000), 2) if agent else None,
            "msdyn_conversationfirstwaittimeinseconds": int(wait.total_seconds()) if agent else None,
            "msdyn_conversationhandletimeinseconds": int(handle.total_seconds()) if status in (4, 5) and agent
            else None,
            "msdyn_conversationtalktimeinseconds": int(handle.total_seconds() * 0.8)
            if channel == 192370000 and agent and status in (4, 5) else None,
            "msdyn_conversationholdtimeinseconds": 0 if agent else None,
            "msdyn_conversationwrapuptimeinseconds": int(wrapup.total_seconds()) if status == 4 and agent else None,
            "msdyn_transfercount": transfers, "msdyn_escalationcount": 0,
            "msdyn_statuschangereason": 192350012 if status == 4 and not agent else STATUSES[status][2],
            "msdyn_workstreamworkdistributionmode": stream["msdyn_mode"],
            "msdyn_customersentimentlabel": rng.choice((0, 8, 9, 10, 10, 11, 12)) if agent else 0,
            "prioritycode": rng.choices((0, 1, 2), (10, 75, 15))[0],
            "ownerid": agent or ADMIN_USER_ID, "ownerid__target": "systemuser",
            **self.audit(created, last_event),
        }
        sessions = self._sessions(row, created, assigned, last_event, status, transfers, agent_ids, channel)
        row["msdyn_lastsessionid"] = sessions[-1]["activityid"]
        return row, sessions

    def _sessions(self, conv: dict, created: datetime, assigned: datetime | None, last_event: datetime,
                  status: int, transfers: int, agent_ids: list[str], channel: int) -> list[dict]:
        """One session per agent leg; the last one is the conversation's msdyn_lastsessionid."""
        sessions = []
        start = created
        legs = transfers + 1
        for leg in range(legs):
            last = leg == legs - 1
            agent = conv["msdyn_activeagentid"] if last else self.rng.choice(agent_ids)
            end = last_event if last else start + (last_event - start) / (legs - leg + 1)
            open_ = last and status != 4
            sessions.append({
                "activityid": self.guid(), "subject": f"Session {leg + 1}: {conv['msdyn_title']}",
                "msdyn_liveworkitemid": conv["activityid"], "msdyn_channel": channel,
                "msdyn_activeagentid": agent, "msdyn_cdsqueueid": conv["msdyn_cdsqueueid"],
                "msdyn_sessioncreatedon": format_instant(start),
                "msdyn_agentassignedon": format_instant(assigned if last and assigned else start) if agent else None,
                "msdyn_agentacceptedon": format_instant(assigned if last and assigned else start) if agent else None,
                "msdyn_sessionclosedon": None if open_ else format_instant(end),
                "activitytypecode": "msdyn_ocsession", "statecode": 0 if open_ else 1, "statuscode": 1 if open_ else 2,
                "ownerid": agent or ADMIN_USER_ID, "ownerid__target": "systemuser", **self.audit(start, end),
            })
            start = end
        return sessions

    # -- the whole data set ----------------------------------------------------------------------------------
    def run(self, conversations: int, agents: int, progress: bool | None = None) -> SeedResult:
        users = self.users(agents)
        streams = self.work_streams()
        queues, legacy = self.queues()
        accounts, contacts = self.customers(conversations)
        show = conversations >= 20000 if progress is None else progress
        n_sessions = 0
        with self.db.engine.begin() as conn:
            for name, rows in (("systemuser", users), ("msdyn_liveworkstream", streams), ("queue", queues),
                               ("msdyn_omnichannelqueue", legacy), ("account", accounts), ("contact", contacts)):
                self._insert(conn, name, rows)
            # secondary indexes are built once after the load: cheaper than maintaining them row by row
            indexes = [index for name in ("msdyn_ocliveworkitem", "msdyn_ocsession")
                       for index in self.db.tables[name].indexes]
            for index in indexes:
                index.drop(conn)
            convs: list[dict] = []
            sessions: list[dict] = []
            bar = tqdm(total=conversations, unit="conv", desc="Seeding conversations", disable=not show)
            for conv, conv_sessions in self.conversations(conversations, users, streams, queues, legacy, accounts,
                                                          contacts):
                convs.append(conv)
                sessions.extend(conv_sessions)
                if len(convs) >= BATCH:
                    n_sessions += len(sessions)
                    self._flush(conn, convs, sessions, bar)
            n_sessions += len(sessions)
            self._flush(conn, convs, sessions, bar)
            bar.close()
            for index in indexes:
                index.create(conn)
        return SeedResult(conversations, n_sessions, len(users) - 1)

    def _flush(self, conn, convs: list[dict], sessions: list[dict], bar) -> None:
        self._insert(conn, "msdyn_ocliveworkitem", convs)
        self._insert(conn, "msdyn_ocsession", sessions)
        bar.update(len(convs))
        convs.clear()
        sessions.clear()


def clear(db: Database) -> None:
    """Delete every row of every table (schema kept)."""
    with db.engine.begin() as conn:
        for table in ALL_TABLES:
            conn.execute(sa.delete(db.tables[table.logical_name]))


def seed(db: Database, *, conversations: int = 500, agents: int = 12, seed: int = 42,
         now: datetime | None = None, reset: bool = False, progress: bool | None = None) -> SeedResult:
    """Seed the default data set. Refuses to mix with existing rows unless `reset` is given."""
    import time

    if conversations < 0 or agents < 1:
        raise ValueError("conversations must be >= 0 and agents >= 1")
    db.create_schema()
    if reset:
        clear(db)
    elif not db.is_empty() or db.count("systemuser"):
        raise ValueError(f"the database already holds {db.count('msdyn_ocliveworkitem')} conversations; "
                         "pass --reset to replace them")
    started = time.perf_counter()
    result = Seeder(db, seed=seed, now=now or datetime.now(timezone.utc)).run(conversations, agents, progress)
    result.seconds = time.perf_counter() - started
    return result
