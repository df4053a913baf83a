"""A contact center that moves: conversations arrive, wait in queues, are accepted, wait, wrap up and close, each
change one of the transitions allowed by conversation-entity.md 1.3, timed by the emulator clock."""
from __future__ import annotations

import math
import random
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from .. import metadata
from ..clock import Clock, format_instant, parse_instant
from ..store import records, write
from ..store.database import Database
from ..store.seed import ADMIN_USER_ID, TOPICS

CONVERSATION, SESSION = metadata.table("msdyn_ocliveworkitem"), metadata.table("msdyn_ocsession")
OPEN, ACTIVE, WAITING, CLOSED, WRAP_UP = 1, 2, 3, 4, 5
# conversation-entity.md 1.3, exactly; None -> Open is a new arrival.
ALLOWED = {None: {OPEN}, OPEN: {ACTIVE, CLOSED}, ACTIVE: {WRAP_UP, OPEN, WAITING, CLOSED},
           WRAP_UP: {CLOSED}, WAITING: {CLOSED, ACTIVE, OPEN}}
STATE_OF = {OPEN: 0, ACTIVE: 0, WAITING: 0, WRAP_UP: 0, CLOSED: 1}
# Mean time (emulator seconds) a conversation stays in a status, and where it goes next (weights).
DWELL = {OPEN: 30.0, ACTIVE: 120.0, WAITING: 90.0, WRAP_UP: 30.0}
NEXT = {OPEN: ((ACTIVE, 90), (CLOSED, 10)),
        ACTIVE: ((WRAP_UP, 60), (WAITING, 20), (OPEN, 5), (CLOSED, 15)),
        WAITING: ((ACTIVE, 50), (CLOSED, 30), (OPEN, 20)),
        WRAP_UP: ((CLOSED, 100),)}
# msdyn_statuschangereason for each transition (option values from the spec's list).
REASON = {(None, OPEN): 192350001, (ACTIVE, OPEN): 192350001, (WAITING, OPEN): 192350001,
          (OPEN, ACTIVE): 192350003, (WAITING, ACTIVE): 192350003, (ACTIVE, WAITING): 192350004,
          (ACTIVE, WRAP_UP): 192350005, (ACTIVE, CLOSED): 192350006, (WRAP_UP, CLOSED): 192350008,
          (WAITING, CLOSED): 192350009, (OPEN, CLOSED): 192350012}
VOICE = "192370000"  # a call cannot wait for the customer (Waiting is for async channels)
MAX_STEP_SECONDS = 300  # a big clock jump is not replayed as hours of traffic
MAX_ARRIVALS = 50
DEFAULT_RATE = 12.0  # new conversations per minute of emulator time
MAX_RATE = 6000.0


@dataclass(frozen=True)
class Transition:
    activityid: str
    from_status: int | None  # None: the conversation arrived
    to_status: int
    at: str
    agent: str | None


def _seconds(later: datetime, earlier_text: str | None) -> int:
    if not earlier_text:
        return 0
    return max(0, int((later - parse_instant(earlier_text)).total_seconds()))


class Simulator:
    """`step()` moves the contact center from the last step's instant to `clock.now()`. A background thread calls it
    on a timer (`start`/`stop`); tests with a frozen clock call it directly after advancing the clock."""

    def __init__(self, db: Database, clock: Clock, *, rate: float = DEFAULT_RATE, seed: int = 1,
                 interval: float = 1.0) -> None:
        self.db, self.clock = db, clock
        self.rate, self.seed, self.interval = float(rate), int(seed), interval
        self.rng = random.Random(self.seed)
        self.transitions: deque[Transition] = deque(maxlen=100_000)
        self.steps = 0
        self.last: datetime | None = None
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # -- control ---------------------------------------------------------------------------------------------
    def configure(self, rate: float | None = None, seed: int | None = None) -> None:
        with self._lock:
            if rate is not None:
                self.rate = float(rate)
            if seed is not None:
                self.seed = int(seed)
                self.rng = random.Random(self.seed)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        with self._lock:
            if self.running:
                return
            self._stop.clear()
            self.last = None  # time spent paused is not replayed
            self._thread = threading.Thread(target=self._run, name="simulation", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        thread = self._thread
        self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)
        self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.step()

    def state(self) -> dict:
        return {"running": self.running, "rate": self.rate, "seed": self.seed, "interval": self.interval,
                "steps": self.steps, "transitions": len(self.transitions),
                "lastStep": format_instant(self.last) if self.last else None}

    # -- one step --------------------------------------------------------------------------------------------
    def step(self) -> list[Transition]:
        """Advance to the clock's now; returns the transitions made (also kept in `self.transitions`)."""
        with self._lock:
            now = self.clock.now().replace(microsecond=0)
            if self.last is None or now <= self.last:
                self.last = now if self.last is None else self.last
                return []
            elapsed = min((now - self.last).total_seconds(), MAX_STEP_SECONDS)
            self.last = now
            self.steps += 1
            made: list[Transition] = []
            # The Web API's write transaction: same lock and row-version counter as PATCH/POST requests.
            with self.db.transaction() as conn:
                ctx = _Context(conn, self.db, records.Context(now, ADMIN_USER_ID), self._pools(conn))
                for row in self._live(conn):
                    target = self._next_status(row, elapsed)
                    if target is not None:
                        made.append(self._move(ctx, row, target))
                for _ in range(self._arrivals(elapsed)):
                    made.append(self._arrive(ctx))
            self.transitions.extend(made)
            return made

    def _arrivals(self, elapsed: float) -> int:
        """Poisson arrivals for `elapsed` seconds at `rate` per minute (Knuth's method; capped)."""
        mean = self.rate * elapsed / 60.0
        if mean <= 0:
            return 0
        if mean > 30:
            return min(MAX_ARRIVALS, max(0, round(self.rng.gauss(mean, math.sqrt(mean)))))
        limit, k, p = math.exp(-mean), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return min(k, MAX_ARRIVALS)
            k += 1

    def _live(self, conn) -> list:
        conv = self.db.tables["msdyn_ocliveworkitem"]
        query = sa.select(conv).where(conv.c.statecode == 0, conv.c.statuscode.in_(list(DWELL))) \
            .order_by(conv.c.createdon, conv.c.activityid)
        return [dict(r._mapping) for r in conn.execute(query)]

    def _next_status(self, row: dict, elapsed: float) -> int | None:
        status = row["statuscode"]
        if self.rng.random() >= 1 - math.exp(-elapsed / DWELL[status]):
            return None
        choices = [(s, w) for s, w in NEXT[status] if not (s == WAITING and row["msdyn_channel"] == VOICE)]
        return self.rng.choices([s for s, _ in choices], [w for _, w in choices])[0]

    def _pools(self, conn) -> dict:
        t = self.db.tables
        agents = [r.systemuserid for r in conn.execute(
            sa.select(t["systemuser"].c.systemuserid).where(t["systemuser"].c.systemuserid != ADMIN_USER_ID,
                                                            t["systemuser"].c.isdisabled.isnot(True))
            .order_by(t["systemuser"].c.systemuserid))]
        streams = [dict(r._mapping) for r in conn.execute(
            sa.select(t["msdyn_liveworkstream"]).order_by(t["msdyn_liveworkstream"].c.msdyn_liveworkstreamid))]
        queues = [r.queueid for r in conn.execute(sa.select(t["queue"].c.queueid).order_by(t["queue"].c.queueid))]
        legacy = [r.msdyn_omnichannelqueueid for r in conn.execute(
            sa.select(t["msdyn_omnichannelqueue"].c.msdyn_omnichannelqueueid)
            .order_by(t["msdyn_omnichannelqueue"].c.msdyn_omnichannelqueueid))]
        return {"agents": agents, "streams": streams, "queues": queues, "legacy": legacy}

    def _customer(self, conn) -> tuple[str, str, str] | None:
        """A random existing contact (70%) or account, drawn by offset so large data sets stay cheap."""
        t = self.db.tables
        kind = "contact" if self.rng.random() < 0.7 else "account"
        table = t[kind]
        total = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        if not total:
            return None
        key, name = (table.c.contactid, table.c.fullname) if kind == "contact" else (table.c.accountid,
                                                                                       table.c.name)
        row = conn.execute(sa.select(key, name).order_by(key).offset(self.rng.randrange(total)).limit(1)).one()
        return row[0], kind, row[1]

    def guid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    # -- changes ---------------------------------------------------------------------------------------------
    def _arrive(self, ctx: _Context) -> Transition:
        fmt = format_instant(ctx.who.now)
        stream = self.rng.choice(ctx.pools["streams"]) if ctx.pools["streams"] else None
        qi = self.rng.randrange(len(ctx.pools["queues"])) if ctx.pools["queues"] else None
        customer = self._customer(ctx.conn)
        topic = self.rng.choice(TOPICS)
        cid = self.guid()
        number = self.steps * 100 + self.rng.randrange(100)
        row = {
            "activityid": cid,
            "subject": f"{topic} ({customer[2]})"[:200] if customer else topic,
            "msdyn_title": f"{topic} #S{number}", "statecode": 0, "statuscode": OPEN,
            "msdyn_channel": str(stream["msdyn_streamsource"]) if stream else None,
            "msdyn_liveworkstreamid": stream["msdyn_liveworkstreamid"] if stream else None,
            "msdyn_workstreamworkdistributionmode": stream["msdyn_mode"] if stream else None,
            "msdyn_cdsqueueid": ctx.pools["queues"][qi] if qi is not None else None,
            "msdyn_queueid": ctx.pools["legacy"][qi] if qi is not None and qi < len(ctx.pools["legacy"]) else None,
            "msdyn_customer": customer[0] if customer else None,
            "msdyn_customer__target": customer[1] if customer else None,
            "msdyn_createdon": fmt, "msdyn_modifiedon": fmt, "msdyn_startedon": fmt, "msdyn_initiatedon": fmt,
            "msdyn_firstwaitstartedon": fmt, "msdyn_statusupdatedon": fmt,
            "msdyn_isoutbound": False, "msdyn_isabandoned": False, "msdyn_isagentaccepted": False,
            "msdyn_copilotengaged": False, "msdyn_thirdpartyconversation": False, "msdyn_isagentsession": True,
            "msdyn_transfercount": 0, "msdyn_escalationcount": 0, "msdyn_conversationholdtimeinseconds": 0,
            "msdyn_statuschangereason": REASON[(None, OPEN)], "msdyn_customersentimentlabel": 0,
            "prioritycode": self.rng.choices((0, 1, 2), (10, 75, 15))[0],
        }
        records.create(ctx.conn, self.db, CONVERSATION, row, ctx.who)
        return Transition(cid, None, OPEN, fmt, None)

    def _move(self, ctx: _Context, row: dict, target: int) -> Transition:
        now, fmt = ctx.who.now, format_instant(ctx.who.now)
        source = row["statuscode"]
        agent = row["msdyn_activeagentid"]
        changes: dict = {"statuscode": target, "statecode": STATE_OF[target],
                         "msdyn_statuschangereason": REASON[(source, target)], "msdyn_statusupdatedon": fmt,
                         "msdyn_modifiedon": fmt}
        if source == ACTIVE:  # an agent leg of handling ends: count its time
            leg = _seconds(now, row["msdyn_activeagentassignedon"])
            changes["msdyn_conversationhandletimeinseconds"] = (row["msdyn_conversationhandletimeinseconds"]
                                                                or 0) + leg
            if row["msdyn_channel"] == VOICE:
                changes["msdyn_conversationtalktimeinseconds"] = (row["msdyn_conversationtalktimeinseconds"]
                                                                  or 0) + leg
        if target == ACTIVE:
            agent = self._accepting_agent(ctx, agent)
            changes.update(msdyn_activeagentid=agent, msdyn_activeagentassignedon=fmt, msdyn_isagentaccepted=True,
                           ownerid=agent or ADMIN_USER_ID)
            if row["msdyn_isagentaccepted"] is not True or row["msdyn_conversationfirstwaittimeinseconds"] is None:
                changes["msdyn_conversationfirstwaittimeinseconds"] = _seconds(now, row["msdyn_firstwaitstartedon"]
                                                                               or row["createdon"])
                changes["msdyn_firstresponsetimeinmsadjforoh"] = round(self.rng.uniform(2000, 60000), 2)
            elif source == OPEN and row.get("msdyn_lastsessionid"):
                changes["msdyn_transfercount"] = (row["msdyn_transfercount"] or 0) + 1
            self._close_session(ctx, row["msdyn_lastsessionid"])
            session = self._open_session(ctx, row, agent)
            changes["msdyn_lastsessionid"] = session
        elif target == OPEN:  # back to a queue: nobody is assigned any more
            changes.update(msdyn_activeagentid=None, ownerid=ADMIN_USER_ID)
            agent = None
            self._close_session(ctx, row["msdyn_lastsessionid"])
        elif target == WAITING:  # the agent closed the session without ending the conversation
            self._close_session(ctx, row["msdyn_lastsessionid"])
        elif target == WRAP_UP:
            changes["msdyn_wrapupinitiatedon"] = fmt
        elif target == CLOSED:
            changes["msdyn_closedon"] = fmt
            if source == WRAP_UP:
                changes["msdyn_conversationwrapuptimeinseconds"] = _seconds(now, row["msdyn_wrapupinitiatedon"])
            if source == OPEN:
                changes["msdyn_isabandoned"] = not row["msdyn_isagentaccepted"]
            self._close_session(ctx, row["msdyn_lastsessionid"])
        records.update(ctx.conn, self.db, CONVERSATION, row["activityid"], changes, ctx.who, row)
        return Transition(row["activityid"], source, target, fmt, agent)

    def _accepting_agent(self, ctx: _Context, previous: str | None) -> str | None:
        """A customer coming back (Waiting -> Active) usually gets the same agent."""
        if previous and self.rng.random() < 0.7:
            return previous
        return self.rng.choice(ctx.pools["agents"]) if ctx.pools["agents"] else previous

    def _open_session(self, ctx: _Context, row: dict, agent: str | None) -> str:
        fmt = format_instant(ctx.who.now)
        sid = self.guid()
        channel = row["msdyn_channel"]
        legs = ctx.conn.execute(sa.select(sa.func.count()).select_from(ctx.session)
                                .where(ctx.session.c.msdyn_liveworkitemid == row["activityid"])).scalar_one()
        return records.create(ctx.conn, self.db, SESSION, {
            "activityid": sid, "subject": f"Session {legs + 1}: {row['msdyn_title']}"[:200],
            "msdyn_liveworkitemid": row["activityid"],
            "msdyn_channel": int(channel.split(",")[0]) if channel else None,
            "msdyn_activeagentid": agent, "msdyn_cdsqueueid": row["msdyn_cdsqueueid"], "msdyn_sessioncreatedon": fmt,
            "msdyn_agentassignedon": fmt, "msdyn_agentacceptedon": fmt, "statecode": 0, "statuscode": 1,
            "ownerid": agent}, ctx.who)

    def _close_session(self, ctx: _Context, session_id: str | None) -> None:
        if not session_id:
            return
        session = write.fetch(ctx.conn, self.db, SESSION, session_id, lock=True)
        if session is not None and session.statecode == 0:
            records.update(ctx.conn, self.db, SESSION, session_id, {
                "statecode": 1, "statuscode": 2, "msdyn_sessionclosedon": format_instant(ctx.who.now)},
                ctx.who, session._mapping)


class _Context:
    def __init__(self, conn, db: Database, who: records.Context, pools: dict) -> None:
        self.conn, self.who, self.pools = conn, who, pools  # the simulation writes as the administrator
        self.session = db.tables["msdyn_ocsession"]


