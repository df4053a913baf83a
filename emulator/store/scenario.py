"""Scenario files (seed_data/*.json): parse with line positions, validate, and load into the database.
The format is documented in docs/scenarios.md; every error names the field and its line."""
from __future__ import annotations

import bisect
import json
import os
import re
import sys
import sysconfig
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from json.decoder import scanstring  # type: ignore[attr-defined]  # exists at run time; typeshed leaves it out
from pathlib import Path
from typing import Any, Literal, overload

import sqlalchemy as sa

from .. import metadata
from ..clock import format_instant, parse_instant
from ..metadata import optionsets as os_
from . import custom_schema, records
from .database import Database
from .seed import ADMIN_USER_ID, ADMIN_USER_NAME, STATUSES, Seeder, clear

SEED_DATA = Path(__file__).resolve().parents[2] / "seed_data"
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
RELATIVE = re.compile(r"^([+-])((?:\d+[wdhms])+)$")
NAMESPACE = uuid.UUID("0b7c4a52-2f1e-4d63-9a55-5c3e1f0d7a10")  # ids of scenario rows without an explicit id
SECTIONS = ("name", "description", "generator", "agents", "workstreams", "queues", "customers", "conversations",
            "sessions", "tables", "schema", "generate", "metadata")
GENERATOR_KEYS = ("conversations", "agents", "seed")


class ScenarioError(ValueError):
    """A scenario file problem; the message names the source, line and field."""


# -- JSON with positions ---------------------------------------------------------------------------------------
class _Locator:
    """Walks valid JSON text once and records the line of every value by its path (("conversations", 2, "status"))."""

    _NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
    _WS = re.compile(r"[ \t\n\r]*")

    def __init__(self, text: str) -> None:
        self.text = text
        self.newlines = [i for i, c in enumerate(text) if c == "\n"]
        self.lines: dict[tuple, int] = {}

    def line(self, index: int) -> int:
        return bisect.bisect_right(self.newlines, index - 1) + 1

    def _ws(self, i: int) -> int:
        match = self._WS.match(self.text, i)
        assert match is not None  # `[ \t\n\r]*` matches anywhere
        return match.end()

    def run(self) -> dict[tuple, int]:
        self._value(self._ws(0), ())
        return self.lines

    def _value(self, i: int, path: tuple) -> int:
        text = self.text
        self.lines[path] = self.line(i)
        c = text[i]
        if c == "{":
            i = self._ws(i + 1)
            if text[i] == "}":
                return i + 1
            while True:
                key, i = scanstring(text, i + 1)
                self.lines[path + (key,)] = self.line(i)
                i = self._ws(self._ws(i) + 1)  # past ':'
                i = self._ws(self._value(i, path + (key,)))
                if text[i] == "}":
                    return i + 1
                i = self._ws(i + 1)
        if c == "[":
            i = self._ws(i + 1)
            if text[i] == "]":
                return i + 1
            n = 0
            while True:
                i = self._ws(self._value(i, path + (n,)))
                n += 1
                if text[i] == "]":
                    return i + 1
                i = self._ws(i + 1)
        if c == '"':
            return scanstring(text, i + 1)[1]
        for literal in ("true", "false", "null"):
            if text.startswith(literal, i):
                return i + len(literal)
        match = self._NUMBER.match(text, i)
        assert match is not None  # the text is valid JSON, so what is left here is a number
        return match.end()


def _path_text(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


@dataclass
class Scenario:
    """A parsed scenario: the data plus where each value was written."""

    data: dict
    source: str = "<scenario>"
    lines: dict[tuple, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.data.get("name") or Path(self.source).stem)

    def error(self, path: tuple, message: str) -> ScenarioError:
        line = None
        probe = path
        while probe and line is None:
            line = self.lines.get(probe)
            probe = probe[:-1]
        where = f"{self.source}, line {line}" if line else self.source
        return ScenarioError(f"{where}: {_path_text(path)}: {message}")


def parse(text: str, source: str = "<scenario>") -> Scenario:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ScenarioError(f"{source}, line {e.lineno}: not valid JSON: {e.msg} (column {e.colno})") from None
    scenario = Scenario(data, source, _Locator(text).run())
    if not isinstance(data, dict):
        raise scenario.error((), "a scenario is a JSON object with sections such as \"agents\" and \"conversations\"")
    for key in data:
        if key not in SECTIONS:
            raise scenario.error((key,), f"unknown section; expected one of {', '.join(SECTIONS)}")
    return scenario


def from_dict(data: dict, source: str = "<scenario>") -> Scenario:
    return parse(json.dumps(data, indent=1), source)


def search_dirs() -> list[Path]:
    dirs = [Path(p) for p in os.environ.get("EMULATOR_SEED_DATA", "").split(os.pathsep) if p]
    # the wheel's data files: under the environment's prefix, or the user's (pip install --user)
    installed = [Path(sys.prefix) / "share" / "dataverse-emulator" / "seed_data"]
    user_scheme = sysconfig.get_preferred_scheme("user")
    installed.append(Path(sysconfig.get_path("data", user_scheme)) / "share" / "dataverse-emulator" / "seed_data")
    return dirs + [Path.cwd() / "seed_data", SEED_DATA, *installed]


def available() -> list[str]:
    names: set[str] = set()
    for directory in search_dirs():
        if directory.is_dir():
            names.update(p.stem for p in directory.glob("*.json"))
    return sorted(names | set(BUILTIN))


# Used when no seed_data directory is at hand (an installed wheel without the repository's seed_data/).
BUILTIN = {"default": {"name": "default", "description": "The demo data set.",
                       "generator": {"conversations": 500, "agents": 12, "seed": 42}}}


def resolve(name_or_file: str) -> Path:
    """A scenario name (seed_data/<name>.json) or a path to a JSON file."""
    path = Path(name_or_file)
    if path.suffix == ".json" or os.sep in name_or_file or "/" in name_or_file:
        if path.is_file():
            return path
        raise ScenarioError(f"scenario file {name_or_file} does not exist")
    for directory in search_dirs():
        candidate = directory / f"{name_or_file}.json"
        if candidate.is_file():
            return candidate
    raise ScenarioError(f"unknown scenario '{name_or_file}'; available: {', '.join(available()) or 'none'}")


def read(name_or_file: str) -> Scenario:
    try:
        path = resolve(name_or_file)
    except ScenarioError:
        if name_or_file in BUILTIN:
            return from_dict(BUILTIN[name_or_file], f"built-in scenario {name_or_file}")
        raise
    return parse(path.read_text(encoding="utf-8"), str(path))


# -- values ----------------------------------------------------------------------------------------------------
def when(scenario: Scenario, path: tuple, value: Any, now: datetime) -> str | None:
    """"now", "-3d", "-2h30m", "+1d" (relative to the emulator clock) or an ISO 8601 instant -> stored text."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise scenario.error(path, f"{value!r} is not a date; write \"now\", \"-3d\", \"-2h30m\" or an ISO instant")
    text = value.strip()
    if text == "now":
        return format_instant(now)
    match = RELATIVE.match(text)
    if match:
        seconds = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
        total = sum(int(n) * seconds[u] for n, u in re.findall(r"(\d+)([wdhms])", match.group(2)))
        return format_instant(now + timedelta(seconds=total if match.group(1) == "+" else -total))
    try:
        return format_instant(parse_instant(text))
    except ValueError:
        raise scenario.error(path, f"'{value}' is not a date; write \"now\", \"-3d\", \"-2h30m\" or an ISO "
                                   "instant such as 2026-01-15T12:00:00Z") from None


def choice(scenario: Scenario, path: tuple, value: Any, option_set, what: str) -> int:
    """An option by value (3) or label ("Waiting", case-insensitive)."""
    if isinstance(value, bool):
        value = None
    if isinstance(value, int) and value in option_set.values:
        return value
    if isinstance(value, str):
        wanted = value.strip().lower()
        for option in option_set.options:
            if option.label.lower() == wanted or str(option.value) == wanted:
                return option.value
    labels = ", ".join(f"{o.label} ({o.value})" for o in option_set.options)
    raise scenario.error(path, f"{value!r} is not a {what}; use one of {labels}")


@overload
def _str(scenario: Scenario, path: tuple, value: Any, required: Literal[True]) -> str: ...
@overload
def _str(scenario: Scenario, path: tuple, value: Any, required: bool = False) -> str | None: ...
def _str(scenario: Scenario, path: tuple, value: Any, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise scenario.error(path, "is required")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise scenario.error(path, f"{value!r} must be a non-empty string")
    return value


def _int(scenario: Scenario, path: tuple, value: Any, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise scenario.error(path, f"{value!r} must be a whole number >= {low}")
    return value


# -- loading ---------------------------------------------------------------------------------------------------
ITEM_FIELDS = {
    "agents": ("key", "id", "fullname", "email", "title", "disabled", "created", "columns"),
    "workstreams": ("key", "id", "name", "channel", "mode", "capacity", "created", "columns"),
    "queues": ("key", "id", "name", "type", "description", "created", "columns"),
    "customers": ("key", "id", "type", "name", "email", "phone", "city", "account", "created", "columns"),
    "conversations": ("key", "id", "title", "subject", "description", "status", "agent", "workstream", "queue",
                      "customer", "channel", "created", "assigned", "modified", "closed", "priority", "sentiment",
                      "transfers", "columns"),
    "sessions": ("key", "id", "conversation", "agent", "created", "closed", "columns"),
}


class Loader:
    """Turns a scenario's sections into rows, resolving scenario-local keys to GUIDs."""

    def __init__(self, db: Database, scenario: Scenario, now: datetime) -> None:
        self.db = db
        self.s = scenario
        self.now = now.astimezone(UTC).replace(microsecond=0)
        self.rows: dict[str, list[dict]] = {}
        self.keys: dict[str, dict[str, dict]] = {}  # section -> key -> row
        self.version = 0
        self.versioned: list[dict] = []  # rows whose versionnumber the loader assigned

    def next_version(self) -> int:
        self.version += 1
        return self.version

    def add(self, logical_name: str, row: dict, raw: bool = False) -> dict:
        self.rows.setdefault(logical_name, []).append(row)
        if not raw:
            self.versioned.append(row)
        return row

    def items(self, section: str) -> list[tuple[tuple, dict]]:
        items = self.s.data.get(section) or []
        if not isinstance(items, list):
            raise self.s.error((section,), "must be a list of objects")
        out = []
        for i, item in enumerate(items):
            path = (section, i)
            if not isinstance(item, dict):
                raise self.s.error(path, "must be an object")
            for key in item:
                if key not in ITEM_FIELDS[section]:
                    raise self.s.error(path + (key,), f"unknown field; {section} items take "
                                                       f"{', '.join(ITEM_FIELDS[section])}")
            out.append((path, item))
        return out

    def identity(self, section: str, path: tuple, item: dict) -> str:
        key = item.get("key")
        if key is not None and not isinstance(key, (str, int)):
            raise self.s.error(path + ("key",), "must be a string")
        value = _str(self.s, path + ("id",), item.get("id"))
        if value is not None:
            if not GUID.match(value):
                raise self.s.error(path + ("id",), f"'{value}' is not a GUID")
            guid = value.lower()
        else:
            guid = str(uuid.uuid5(NAMESPACE, f"{self.s.name}/{section}/{key if key is not None else path[1]}"))
        if key is not None:
            if str(key) in self.keys.setdefault(section, {}):
                raise self.s.error(path + ("key",), f"duplicate key '{key}' in {section}")
        return guid

    def remember(self, section: str, item: dict, row: dict) -> None:
        if item.get("key") is not None:
            self.keys.setdefault(section, {})[str(item["key"])] = row

    def ref(self, section: str, path: tuple, value: Any) -> dict | str | None:
        """A scenario-local key, or a GUID of a row that exists already (for example from the generator)."""
        if value is None:
            return None
        found = self.keys.get(section, {}).get(str(value))
        if found is not None:
            return found
        if isinstance(value, str) and GUID.match(value):
            return value.lower()
        known = ", ".join(self.keys.get(section, {})) or "none"
        raise self.s.error(path, f"'{value}' is not the key of one of the {section} (keys: {known}) nor a GUID")

    def new_row(self, logical_name: str, row: dict, created: str | None, modified: str | None = None) -> dict:
        """`row` with the columns the server sets, as if the administrator created it at `created` and last changed
        it at `modified`; its owner is the administrator unless the row names one. `created` is None only where the
        file writes `"created": null`, which loads the row without createdon."""
        table = metadata.table(logical_name)
        return records.rules(table).new_row(row, row[table.primary_id], when=modified or created,  # type: ignore[arg-type]  # None only for "created": null, loaded as it always was
                                            created=created, caller=ADMIN_USER_ID, version=self.next_version)

    def columns(self, logical_name: str, path: tuple, item: dict, row: dict) -> dict:
        """Any column by logical name, written as stored (lookups as GUIDs)."""
        extra = item.get("columns") or {}
        if not isinstance(extra, dict):
            raise self.s.error(path + ("columns",), "must be an object of column logical names to values")
        sql = self.db.tables[logical_name]
        for name, value in extra.items():
            if name not in sql.c:
                raise self.s.error(path + ("columns", name), f"'{name}' is not a column of {logical_name}")
            row[name] = value
        return row

    # -- sections ------------------------------------------------------------------------------------------------
    def load(self) -> dict[str, list[dict]]:
        self.agents()
        self.workstreams()
        self.queues()
        self.customers()
        self.conversations()
        self.sessions()
        self.tables()
        self.generate()
        return self.rows

    def generate(self) -> None:
        """Rows made up from each column's type, for any table: {"<table>": <count>} (docs/scenarios.md)."""
        section = self.s.data.get("generate") or {}
        if not isinstance(section, dict):
            raise self.s.error(("generate",), "must be an object of table logical names to row counts")
        seed = (self.s.data.get("generator") or {}).get("seed", 42)
        for i, (name, count) in enumerate(section.items()):
            table = metadata.find(name)
            if table is None:
                raise self.s.error(("generate", name), f"'{name}' is not a table")
            if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 1_000_000:
                raise self.s.error(("generate", name), "must be a whole number of rows (0 to 1000000)")

            def existing(target: str) -> list[str]:
                key = metadata.table(target).primary_id
                ids = [r[key] for r in self.rows.get(target, [])]
                with self.db.engine.connect() as conn:
                    sql = self.db.tables[target]
                    ids += [v for (v,) in conn.execute(sa.select(sql.c[key]).order_by(sql.c[key]).limit(1000))]
                return ids

            created = format_instant(self.now)
            for row in custom_schema.generate(table, count, seed=seed * 1000 + i, now=self.now, existing=existing):
                self.add(name, self.new_row(name, row, created))

    def agents(self) -> None:
        for path, item in self.items("agents"):
            guid = self.identity("agents", path, item)
            name = _str(self.s, path + ("fullname",), item.get("fullname"), required=True).strip()
            first, _, last = name.partition(" ")
            email = _str(self.s, path + ("email",), item.get("email")) or \
                f"{name.lower().replace(' ', '.')}@contoso.example"
            created = when(self.s, path + ("created",), item.get("created", "-400d"), self.now)
            row = {"systemuserid": guid, "fullname": name, "firstname": first, "lastname": last or None,
                   "internalemailaddress": email, "domainname": email,
                   "title": _str(self.s, path + ("title",), item.get("title")) or "Customer Service Agent",
                   "isdisabled": bool(item.get("disabled", False))}
            row = self.new_row("systemuser", row, created)
            self.remember("agents", item, self.add("systemuser", self.columns("systemuser", path, item, row)))

    def workstreams(self) -> None:
        for path, item in self.items("workstreams"):
            guid = self.identity("workstreams", path, item)
            channel = choice(self.s, path + ("channel",), item.get("channel", "Live chat"), os_.STREAM_SOURCE,
                             "channel")
            mode = choice(self.s, path + ("mode",), item.get("mode", "Push"), os_.WORK_DISTRIBUTION_MODE,
                          "work distribution mode")
            created = when(self.s, path + ("created",), item.get("created", "-365d"), self.now)
            row = {"msdyn_liveworkstreamid": guid,
                   "msdyn_name": _str(self.s, path + ("name",), item.get("name"), required=True),
                   "msdyn_streamsource": channel, "msdyn_mode": mode,
                   "msdyn_capacityrequired": _int(self.s, path + ("capacity",), item.get("capacity", 20)),
                   "statecode": 0, "statuscode": 1}
            row = self.new_row("msdyn_liveworkstream", row, created)
            self.remember("workstreams", item,
                          self.add("msdyn_liveworkstream", self.columns("msdyn_liveworkstream", path, item, row)))

    def queues(self) -> None:
        legacy_listed = "msdyn_omnichannelqueue" in (self.s.data.get("tables") or {})
        for path, item in self.items("queues"):
            guid = self.identity("queues", path, item)
            name = _str(self.s, path + ("name",), item.get("name"), required=True)
            created = when(self.s, path + ("created",), item.get("created", "-365d"), self.now)
            row = {"queueid": guid, "name": name,
                   "msdyn_queuetype": choice(self.s, path + ("type",), item.get("type", "Messaging"),
                                             os_.QUEUE_TYPE, "queue type"),
                   "description": _str(self.s, path + ("description",), item.get("description")),
                   "statecode": 0, "statuscode": 1}
            row = self.add("queue", self.columns("queue", path, item, self.new_row("queue", row, created)))
            if not legacy_listed:  # conversations also point at the legacy Omnichannel queue of the same name
                legacy = self.add("msdyn_omnichannelqueue", self.new_row("msdyn_omnichannelqueue", {
                    "msdyn_omnichannelqueueid": str(uuid.uuid5(NAMESPACE, f"{guid}/legacy")), "msdyn_name": name,
                    "statecode": 0, "statuscode": 1}, created))
                row = {**row, "__legacy": legacy["msdyn_omnichannelqueueid"]}
            self.remember("queues", item, row)

    def customers(self) -> None:
        for path, item in self.items("customers"):
            guid = self.identity("customers", path, item)
            kind = item.get("type", "contact")
            if kind not in ("account", "contact"):
                raise self.s.error(path + ("type",), f"{kind!r} is not a customer type; use \"account\" or "
                                                      "\"contact\"")
            name = _str(self.s, path + ("name",), item.get("name"), required=True).strip()
            created = when(self.s, path + ("created",), item.get("created", "-200d"), self.now)
            common = {"emailaddress1": _str(self.s, path + ("email",), item.get("email")),
                      "telephone1": _str(self.s, path + ("phone",), item.get("phone")),
                      "statecode": 0, "statuscode": 1}
            if kind == "account":
                if item.get("account") is not None:
                    raise self.s.error(path + ("account",), "only a contact has a parent account")
                row = {"accountid": guid, "name": name, "address1_city": item.get("city"), **common}
            else:
                first, _, last = name.partition(" ")
                parent = self.ref("customers", path + ("account",), item.get("account"))
                parent_id = parent["accountid"] if isinstance(parent, dict) and "accountid" in parent else parent
                if isinstance(parent, dict) and "accountid" not in parent:
                    raise self.s.error(path + ("account",), f"'{item['account']}' is a contact, not an account")
                row = {"contactid": guid, "fullname": name, "firstname": first, "lastname": last or None,
                       "parentcustomerid": parent_id, "parentcustomerid__target": "account" if parent_id else None,
                       **common}
            row = self.add(kind, self.columns(kind, path, item, self.new_row(kind, row, created)))
            self.remember("customers", item, {**row, "__type": kind})

    def conversations(self) -> None:
        listed_sessions = {str(i.get("conversation")) for i in (self.s.data.get("sessions") or [])
                           if isinstance(i, dict)}
        for n, (path, item) in enumerate(self.items("conversations")):
            guid = self.identity("conversations", path, item)
            status = choice(self.s, path + ("status",), item.get("status", "Open"), os_.LIVEWORKITEM_STATUS,
                            "conversation status")
            state = next(o.state for o in os_.LIVEWORKITEM_STATUS.options if o.value == status)
            agent = self.ref("agents", path + ("agent",), item.get("agent"))
            agent_id = agent["systemuserid"] if isinstance(agent, dict) else agent
            stream = self.ref("workstreams", path + ("workstream",), item.get("workstream"))
            queue = self.ref("queues", path + ("queue",), item.get("queue"))
            customer = self.ref("customers", path + ("customer",), item.get("customer"))
            if isinstance(stream, dict):
                channel_default, mode = stream["msdyn_streamsource"], stream["msdyn_mode"]
            else:
                channel_default, mode = 192360000, 192350000
            channel = choice(self.s, path + ("channel",), item.get("channel", channel_default), os_.STREAM_SOURCE,
                             "channel")
            created = when(self.s, path + ("created",), item.get("created", "now"), self.now)
            assigned = when(self.s, path + ("assigned",), item.get("assigned", created if agent_id else None),
                            self.now)
            closed = when(self.s, path + ("closed",), item.get("closed"), self.now)
            modified = when(self.s, path + ("modified",), item.get("modified"), self.now) or closed or assigned \
                or created
            if status == 4 and closed is None:
                closed = modified
            if closed is not None and status != 4:
                raise self.s.error(path + ("closed",), "only a Closed conversation has a closed date")
            for name, value in (("assigned", assigned), ("modified", modified), ("closed", closed)):
                if value is not None and value < created:  # type: ignore[operator]  # created is None only for "created": null
                    raise self.s.error(path + (name,), f"{value} is before the conversation was created ({created})")
            title = _str(self.s, path + ("title",), item.get("title")) or f"Conversation {n + 1}"
            if isinstance(customer, dict):
                customer_id = customer.get("accountid") or customer.get("contactid")
                customer_type, customer_name = customer["__type"], customer.get("name") or customer.get("fullname")
            else:
                customer_id, customer_type, customer_name = customer, "contact" if customer else None, None
            subject = _str(self.s, path + ("subject",), item.get("subject")) or \
                (f"{title} ({customer_name})" if customer_name else title)
            row = {
                "activityid": guid, "subject": subject[:200], "msdyn_title": title,
                "description": _str(self.s, path + ("description",), item.get("description")),
                "statecode": state, "statuscode": status, "msdyn_channel": str(channel),
                "msdyn_activeagentid": agent_id,
                "msdyn_liveworkstreamid": stream["msdyn_liveworkstreamid"] if isinstance(stream, dict) else stream,
                "msdyn_cdsqueueid": queue["queueid"] if isinstance(queue, dict) else queue,
                "msdyn_queueid": queue.get("__legacy") if isinstance(queue, dict) else None,
                "msdyn_customer": customer_id, "msdyn_customer__target": customer_type,
                "msdyn_createdon": created, "msdyn_startedon": created, "msdyn_initiatedon": created,
                "msdyn_firstwaitstartedon": created, "msdyn_modifiedon": modified, "msdyn_statusupdatedon": modified,
                "msdyn_activeagentassignedon": assigned if agent_id else None, "msdyn_closedon": closed,
                "msdyn_wrapupinitiatedon": modified if status == 5 else None,
                "msdyn_isoutbound": False, "msdyn_isabandoned": status == 4 and not agent_id,
                "msdyn_isagentaccepted": agent_id is not None, "msdyn_copilotengaged": False,
                "msdyn_thirdpartyconversation": False, "msdyn_isagentsession": True,
                "msdyn_transfercount": _int(self.s, path + ("transfers",), item.get("transfers", 0)),
                "msdyn_escalationcount": 0,
                "msdyn_statuschangereason": (192350012 if status == 4 and not agent_id
                                             else STATUSES.get(status, (0, 0, None))[2]),
                "msdyn_workstreamworkdistributionmode": mode,
                "msdyn_customersentimentlabel": choice(self.s, path + ("sentiment",), item.get("sentiment", 0),
                                                       os_.SENTIMENT_LABEL, "sentiment"),
                "prioritycode": choice(self.s, path + ("priority",), item.get("priority", "Normal"), os_.PRIORITY,
                                       "priority"), "ownerid": agent_id,
            }
            self.new_row("msdyn_ocliveworkitem", row, created, modified)
            if str(item.get("key")) not in listed_sessions:  # one agent session, unless the file lists them
                session = self.session_row(str(uuid.uuid5(NAMESPACE, f"{guid}/session")), row, agent_id,
                                           assigned or created, closed if status == 4 else None)
                row["msdyn_lastsessionid"] = session["activityid"]
            self.remember("conversations", item, self.add("msdyn_ocliveworkitem",
                                                          self.columns("msdyn_ocliveworkitem", path, item, row)))

    def session_row(self, guid: str, conv: dict, agent_id: str | None, created: str | None, closed: str | None
                    ) -> dict:
        return self.add("msdyn_ocsession", self.new_row("msdyn_ocsession", {
            "activityid": guid, "subject": f"Session: {conv['msdyn_title']}"[:200],
            "msdyn_liveworkitemid": conv["activityid"], "msdyn_channel": int(conv["msdyn_channel"].split(",")[0]),
            "msdyn_activeagentid": agent_id, "msdyn_cdsqueueid": conv["msdyn_cdsqueueid"],
            "msdyn_sessioncreatedon": created, "msdyn_agentassignedon": created if agent_id else None,
            "msdyn_agentacceptedon": created if agent_id else None, "msdyn_sessionclosedon": closed,
            "statecode": 1 if closed else 0, "statuscode": 2 if closed else 1, "ownerid": agent_id}, created, closed))

    def sessions(self) -> None:
        latest: dict[str, tuple[str | None, str]] = {}
        for path, item in self.items("sessions"):
            guid = self.identity("sessions", path, item)
            conv = self.ref("conversations", path + ("conversation",), item.get("conversation"))
            if not isinstance(conv, dict):
                raise self.s.error(path + ("conversation",), "must be the key of a conversation in this scenario")
            agent = self.ref("agents", path + ("agent",), item.get("agent"))
            agent_id = agent["systemuserid"] if isinstance(agent, dict) else agent
            created = when(self.s, path + ("created",), item.get("created", conv["createdon"]), self.now)
            closed = when(self.s, path + ("closed",), item.get("closed"), self.now)
            row = self.session_row(guid, conv, agent_id, created, closed)
            self.columns("msdyn_ocsession", path, item, row)
            self.remember("sessions", item, row)
            if conv["activityid"] not in latest or created >= latest[conv["activityid"]][0]:  # type: ignore[operator]  # None only for "created": null
                latest[conv["activityid"]] = (created, guid)
        for conv in self.rows.get("msdyn_ocliveworkitem", []):
            if conv["activityid"] in latest and not conv.get("msdyn_lastsessionid"):
                conv["msdyn_lastsessionid"] = latest[conv["activityid"]][1]

    def tables(self) -> None:
        """Raw rows by table logical name: what `export` writes, loaded as they are."""
        tables = self.s.data.get("tables") or {}
        if not isinstance(tables, dict):
            raise self.s.error(("tables",), "must be an object of table logical names to lists of rows")
        for name, rows in tables.items():
            if name not in self.db.tables:
                raise self.s.error(("tables", name), f"'{name}' is not a table; tables: {', '.join(self.db.tables)}")
            if not isinstance(rows, list):
                raise self.s.error(("tables", name), "must be a list of rows")
            sql = self.db.tables[name]
            pk = metadata.table(name).primary_id
            for i, row in enumerate(rows):
                path = ("tables", name, i)
                if not isinstance(row, dict):
                    raise self.s.error(path, "must be an object of column names to values")
                for column in row:
                    if column not in sql.c:
                        raise self.s.error(path + (column,), f"'{column}' is not a column of {name}")
                if not row.get(pk):
                    raise self.s.error(path, f"the primary key {pk} is required")
                self.add(name, dict(row), raw=True)


def _complete(sql: sa.Table, row: dict) -> dict:
    return {c: row.get(c) for c in sql.c.keys()}


def _needs_admin(rows: dict[str, list[dict]]) -> bool:
    return not any(r.get("systemuserid") == ADMIN_USER_ID for r in rows.get("systemuser", []))


@dataclass
class LoadResult:
    name: str
    counts: dict[str, int]


def load(db: Database, scenario: Scenario, *, now: datetime | None = None, reset: bool = False,
         append: bool = False) -> LoadResult:
    """Load a scenario in one transaction. Refuses to mix with existing rows unless `reset` (replace them) or
    `append` (add to them; keys must then be GUIDs of existing rows or new) is given."""
    now = now or datetime.now(UTC)
    db.create_schema()
    custom_schema.declare(db, scenario.data.get("schema"),
                          lambda path, message: scenario.error(("schema", *path), message))
    with metadata.catalog.use(db.catalog):  # the scenario's own tables, for the loader's and the writer's rules
        return _load(db, scenario, now, reset=reset, append=append)


def _load(db: Database, scenario: Scenario, now: datetime, *, reset: bool, append: bool) -> LoadResult:
    generator = scenario.data.get("generator")
    if generator is not None:
        if not isinstance(generator, dict):
            raise scenario.error(("generator",), "must be an object such as {\"conversations\": 500}")
        for key in generator:
            if key not in GENERATOR_KEYS:
                raise scenario.error(("generator", key), f"unknown field; the generator takes "
                                                         f"{', '.join(GENERATOR_KEYS)}")
        conversations = _int(scenario, ("generator", "conversations"), generator.get("conversations", 500))
        agents = _int(scenario, ("generator", "agents"), generator.get("agents", 12), low=1)
        seed_value = generator.get("seed", 42)
        if isinstance(seed_value, bool) or not isinstance(seed_value, int):
            raise scenario.error(("generator", "seed"), f"{seed_value!r} must be a whole number")
    loader = Loader(db, scenario, now)
    rows = loader.load()  # validates everything before the database is touched
    if reset:
        clear(db)
    elif append:
        if generator is not None:
            raise scenario.error(("generator",), "cannot be appended to existing data")
        loader.version = _max_version(db)
        for row in loader.versioned:
            row["versionnumber"] += loader.version
    elif not db.is_empty() or db.count("systemuser"):
        raise ScenarioError(f"the database already holds {db.count('msdyn_ocliveworkitem')} conversations; "
                            "pass --reset to replace them")
    if generator is not None:
        Seeder(db, seed=seed_value, now=now).run(conversations, agents)
        offset = _max_version(db)
        for row in loader.versioned:  # scenario rows come after the generator's in row-version order
            if isinstance(row.get("versionnumber"), int):
                row["versionnumber"] += offset
    elif _needs_admin(rows) and not append:
        admin_first, admin_last = ADMIN_USER_NAME.split()
        rows.setdefault("systemuser", []).insert(0, loader.new_row("systemuser", {
            "systemuserid": ADMIN_USER_ID, "fullname": ADMIN_USER_NAME, "firstname": admin_first,
            "lastname": admin_last, "internalemailaddress": "emulator.administrator@contoso.example",
            "domainname": "emulator.administrator@contoso.example", "title": "Administrator", "isdisabled": False},
            format_instant(loader.now - timedelta(days=400))))
    with db.engine.begin() as conn:
        for name, table_rows in rows.items():
            sql = db.tables[name]
            if table_rows:
                conn.execute(sql.insert(), [_complete(sql, r) for r in table_rows])
    return LoadResult(scenario.name, db.counts())


def _max_version(db: Database) -> int:
    with db.engine.connect() as conn:
        return max((conn.execute(sa.select(sa.func.max(t.c.versionnumber))).scalar() or 0)
                   for t in db.tables.values() if "versionnumber" in t.c)


def export(db: Database, name: str = "export") -> dict:
    """The current data as a scenario (raw rows under "tables"), so `load` gives back the same rows."""
    tables: dict[str, list[dict]] = {}
    with db.engine.connect() as conn:
        for logical_name, sql in db.tables.items():
            pk = metadata.table(logical_name).primary_id
            rows = conn.execute(sa.select(sql).order_by(sql.c[pk])).mappings()
            tables[str(logical_name)] = [{str(k): v for k, v in row.items() if v is not None} for row in rows]
    return {"name": name, "description": f"Exported from {db.describe()}", "tables": tables}
