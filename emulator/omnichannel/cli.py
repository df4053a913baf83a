"""`dataverse-emulator get-conversations`: getConversations from the command line (JSON or a table)."""
from __future__ import annotations

import json
import re

import click

from . import columns
from .client import Omnichannel
from .errors import OmnichannelError

_API_ROOT = re.compile(r"/api/data/v\d+(?:\.\d+)*$", re.IGNORECASE)
_LABELS = {label.lower(): value for value, label in columns.STATUS_REASONS.items()}


def normalize_url(url: str) -> str:
    """The org URL from what a user pastes: the org URL or the Web API root (the banner prints both), with or
    without trailing slashes."""
    url = url.strip().rstrip("/")
    return _API_ROOT.sub("", url)


def _status(text: str) -> str:
    """A status as getConversations takes it: numbers stay, labels (Waiting, wrap-up...) become their numbers;
    '2,3' and 'Active,Waiting' lists too."""
    pieces = []
    for piece in text.split(","):
        value = _LABELS.get(piece.strip().lower())
        pieces.append(str(value) if value is not None else piece)
    return ",".join(pieces)


def _order_term(text: str) -> dict:
    name, _, direction = text.partition(":")
    direction = direction.strip().lower() or "asc"
    if direction not in ("asc", "desc"):
        raise click.BadParameter(f"'{text}': the direction after ':' must be asc or desc.", param_hint="--order-by")
    return {"attributeName": name, "descending": direction == "desc"}


def _table(records: list[dict]) -> str:
    columns: list[str] = []
    for record in records:
        columns += [k for k in record if k not in columns and not k.startswith("@")]
    rows = [[("" if r.get(c) is None else str(r.get(c))) for c in columns] for r in records]
    widths = [max([len(c)] + [len(row[i]) for row in rows]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=False)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=False)) for row in rows]
    lines.append(f"({len(records)} conversation{'s' if len(records) != 1 else ''})")
    return "\n".join(line.rstrip() for line in lines)


@click.command("get-conversations")
@click.option("--url", "org_url", envvar="OMNICHANNEL_ORG_URL", default="http://127.0.0.1:5555", show_default=True,
              help="The org URL, or the Web API root (.../api/data/v9.2/): the emulator's or a real org's "
                   "(env OMNICHANNEL_ORG_URL).")
@click.option("--agent", "agent_id", required=True, help="agentId: the agent's systemuser GUID.")
@click.option("--status", "statuses", multiple=True, help="A status reason, as a number or a label (3 or Waiting; "
                   + ", ".join(f"{v} {label}" for v, label in columns.STATUS_REASONS.items())
                   + "), or a list such as '2,3' or 'Active,Waiting'; repeatable.")
@click.option("--attribute", "attributes", multiple=True, help="A column to return; repeatable.")
@click.option("--order-by", "order_by", multiple=True, metavar="COLUMN[:asc|desc]",
              help="A sort key, e.g. createdon:desc; repeatable, in order.")
@click.option("--created-before-days", "days", default=None,
              help="Only conversations created within the last N days (0: today).")
@click.option("--correlation-id", default=None, help="Sent as x-ms-correlation-id on every request.")
@click.option("--token", envvar="OMNICHANNEL_TOKEN", default="emulator", show_default=True,
              help="Bearer token (env OMNICHANNEL_TOKEN); the emulator accepts any non-empty one.")
@click.option("--format", "output", type=click.Choice(["json", "table"]), default="json", show_default=True)
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for each response.")
def get_conversations(org_url: str, agent_id: str, statuses: tuple[str, ...], attributes: tuple[str, ...],
                      order_by: tuple[str, ...], days: str | None, correlation_id: str | None, token: str,
                      output: str, timeout: float) -> None:
    """Get an agent's conversations as Microsoft.Omnichannel.getConversations does."""
    request: dict = {"agentId": agent_id}
    if statuses:
        request["status"] = [_status(text) for text in statuses]
    if attributes:
        request["attributes"] = list(attributes)
    if order_by:
        request["orderBy"] = [_order_term(term) for term in order_by]
    if days is not None:
        request["createdBeforeDays"] = days
    try:
        client = Omnichannel(normalize_url(org_url), token or None, timeout=timeout)
        records = client.get_conversations(request, correlation_id)
    except OmnichannelError as e:
        detail = ", ".join(p for p in (f"code {e.code}" if e.code else "",
                                       f"HTTP {e.status}" if e.status else "") if p)
        raise click.ClickException(f"{e.message}" + (f" ({detail})" if detail else "")) from None
    click.echo(json.dumps(records, indent=2) if output == "json" else _table(records))
