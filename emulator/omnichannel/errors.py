"""OmnichannelError: every rejection of getConversations, with Dataverse's code and HTTP status when a server
answered."""
from __future__ import annotations

INVALID_ARGUMENT = "0x80040203"  # Dataverse's InvalidArgument code, for inputs rejected before any request
NETWORK_ERROR = "NetworkError"  # no HTTP answer at all (refused, reset, timed out, bad URL)


class OmnichannelError(Exception):
    """`message` says what was wrong; `code` is the Dataverse error code (or one of the two above); `status` is
    the HTTP status of the server's answer, None when no server answered."""

    def __init__(self, message: str, code: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.message, self.code, self.status = message, code, status

    def to_dict(self) -> dict:
        return {"message": self.message, "code": self.code, "status": self.status}

    def __repr__(self) -> str:
        return f"OmnichannelError({self.message!r}, code={self.code!r}, status={self.status!r})"
