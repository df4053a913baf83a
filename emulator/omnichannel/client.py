"""Omnichannel(org_url, token).get_conversations(input): the reference getConversations over HTTP, against the
emulator or a real org. Client side only: it knows the Web API, not the server's code."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import requests

from . import columns, request
from .errors import NETWORK_ERROR, OmnichannelError

API_PATH = "/api/data/v9.2/"
Token = str | Callable[[], str] | None


class Omnichannel:
    """`org_url` is the org's root (`https://contoso.crm.dynamics.com` or `http://127.0.0.1:5555`); `token` a bearer
    token or a callable returning one (called before every request); `session` a requests.Session to reuse."""

    def __init__(self, org_url: str, token: Token = None, *, session: requests.Session | None = None,
                 timeout: float = 30) -> None:
        self.org_url = org_url.rstrip("/")
        self.token = token
        self.session = session or requests.Session()
        self.timeout = timeout

    def conversations_url(self, query: request.ConversationQuery) -> str:
        return f"{self.org_url}{API_PATH}{columns.ENTITY_SET}?{query.query_string()}"

    def get_conversations(self, input: Any, correlation_id: str | None = None) -> list[dict]:
        """The agent's conversations, every page, each record exactly as the Web API returns it (decision 6).
        Raises OmnichannelError for invalid input (before any request), a server's error, or no answer."""
        query = request.build(input)
        url: str | None = self.conversations_url(query)
        records: list[dict] = []
        seen: set[str] = set()
        while url:
            seen.add(url)
            body = self._get(url, correlation_id)
            records.extend(body["value"])
            url = body.get("@odata.nextLink")
            if url in seen:
                raise OmnichannelError(f"The server returned the same @odata.nextLink twice: {url}", "", 200)
        return records

    def _headers(self, correlation_id: str | None) -> dict[str, str]:
        headers = {"Accept": "application/json", "OData-Version": "4.0", "OData-MaxVersion": "4.0"}
        token = self.token() if callable(self.token) else self.token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if correlation_id:
            headers["x-ms-correlation-id"] = str(correlation_id)
        return headers

    def _get(self, url: str, correlation_id: str | None) -> dict:
        try:
            response = self.session.get(url, headers=self._headers(correlation_id), timeout=self.timeout)
        except requests.Timeout as e:
            raise OmnichannelError(f"The server at {self.org_url} did not answer within {self.timeout:g} s.",
                                   NETWORK_ERROR, None) from e
        except requests.RequestException as e:  # the cause (refused, reset, DNS...) stays in __cause__
            raise OmnichannelError(f"The server at {self.org_url} could not be reached.", NETWORK_ERROR,
                                   None) from e
        try:
            body = orjson.loads(response.content)  # a third of requests' .json() time for a 35 KB page
        except ValueError:  # orjson.JSONDecodeError is one
            body = None
        if not response.ok:
            error = body.get("error") if isinstance(body, dict) else None
            if isinstance(error, dict):
                raise OmnichannelError(str(error.get("message") or f"HTTP {response.status_code}"),
                                       str(error.get("code") or ""), response.status_code)
            raise OmnichannelError(f"The server answered HTTP {response.status_code} without a Dataverse error "
                                   f"body.", "", response.status_code)
        if not isinstance(body, dict) or not isinstance(body.get("value"), list):
            raise OmnichannelError("The server's answer is not an OData collection (no 'value' array).", "",
                                   response.status_code)
        return body
