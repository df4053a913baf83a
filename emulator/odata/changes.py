"""Change tracking's query side (`Prefer: odata.track-changes`, `$deltatoken`): the delta token, the options a
tracked query may carry, and the plan of the rows changed after a token. Facts: spec query-extras.md §2."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import sqlalchemy as sa

from ..errors import BadRequest
from ..metadata import Attribute, Table
from ..plan import Order, Plan

EXPIRE_AFTER = timedelta(days=7)  # Organization.ExpireChangeTrackingInDays' default
NOT_ENABLED = "0x80072491"  # ChangeTrackingNotEnabledForEntity
EXPIRED = "0x80044352"  # ExpiredVersionStamp
# Options a tracked query may carry besides $select (and the paging and delta tokens it carries itself).
REFUSED = ("$filter", "$orderby", "$expand", "$top", "$apply", "$count")
_TOKEN = re.compile(r"^(\d{1,19})!(\d{2})/(\d{2})/(\d{4}) (\d{2}):(\d{2}):(\d{2})$")


@dataclass(frozen=True)
class DeltaToken:
    version: int  # the highest row version the token's answer covered
    issued: datetime

    def text(self) -> str:
        return f"{self.version}!{self.issued.astimezone(UTC):%m/%d/%Y %H:%M:%S}"

    def link_value(self) -> str:
        """URL-encoded with lower-case hex, as Dataverse writes it (`919042%2108%2f22%2f2017%2008%3a10%3a44`)."""
        return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(self.text(), safe=""))


def parse_token(text: str, now: datetime) -> DeltaToken:
    match = _TOKEN.match(text.strip())
    if match is None:
        raise BadRequest(f"The $deltatoken '{text}' is not a delta token this service issued: follow the "
                         f"@odata.deltaLink of an earlier answer.")
    version, month, day, year, hour, minute, second = (int(g) for g in match.groups())
    try:
        issued = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        raise BadRequest(f"The $deltatoken '{text}' is not a delta token this service issued.") from None
    if now - issued > EXPIRE_AFTER:
        raise BadRequest("Version stamp associated with the client has expired. Please perform a full sync.",
                         code=EXPIRED)
    return DeltaToken(version, issued)


def check(table: Table, args: Mapping[str, str]) -> None:
    """A tracked query on `table`: the table tracks changes and the query asks nothing a delta cannot answer."""
    if not table.change_tracking:
        raise BadRequest(f"Entity {table.logical_name} isn't enabled for change tracking.", code=NOT_ENABLED)
    for name in args:
        if name in REFUSED or name.lower() in ("fetchxml", "sql"):
            raise BadRequest(f'The "{name}" query parameter isn\'t supported when Change Tracking is enabled.')


def changed_rows(table: Table, sql_table: sa.Table, columns: list[Attribute], after: int, limit: int) -> Plan:
    """Rows written after row version `after` (creates and updates alike), oldest change first; one more than
    `limit` rows so the caller sees whether more follow."""
    version = table.attribute("versionnumber")
    if version is None:
        raise BadRequest(f"Entity {table.logical_name} isn't enabled for change tracking.", code=NOT_ENABLED)
    return Plan(table, columns, where=sql_table.c.versionnumber > after, order=[Order(attr=version)], limit=limit)
