"""Dataverse error kinds. Every layer raises these; webapi renders them once as {"error":{"code","message"}}."""
from __future__ import annotations


class DataverseError(Exception):
    status = 400
    code = "0x80060888"  # Dataverse's code for query-option validation errors
    hint: str | None = None  # the likely fix of a classic mistake: sent as x-emulator-hint, never in the body

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.headers = headers or {}

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}


class BadRequest(DataverseError):
    """A malformed request or query option (400)."""


class PropertyNotFound(DataverseError):
    """An unknown column in $select/$filter/$orderby/$expand (400, code 0x0, Dataverse's exact wording)."""

    code = "0x0"

    def __init__(self, name: str, type_name: str) -> None:
        super().__init__(f"Could not find a property named '{name}' on type '{type_name}'.")
        self.name, self.type_name = name, type_name


class ResourceNotFound(DataverseError):
    """An unknown entity set, function or path segment (404)."""

    status = 404
    code = "0x8006088a"

    def __init__(self, segment: str) -> None:
        super().__init__(f"Resource not found for the segment '{segment}'.")
        self.segment = segment


class RecordNotFound(DataverseError):
    status = 404
    code = "0x80040217"

    def __init__(self, logical_name: str, record_id: str) -> None:
        super().__init__(f"{logical_name} With Id = {record_id} Does Not Exist")


class NotAuthenticated(DataverseError):
    """401. No source documents a code for it, so the code is empty, as Dataverse's often is."""

    status = 401
    code = ""


class MethodNotAllowed(DataverseError):
    status = 405
    code = "0x80060888"


class PreconditionFailed(DataverseError):
    status = 412
    code = ""


class NotSupported(DataverseError):
    """A Web API feature the emulator does not implement (501): says exactly what is missing."""

    status = 501
    code = "0x8004d101"


class QueryTimeout(DataverseError):
    """A query stopped at the emulator's per-query time limit (400, empty code)."""

    status = 400
    code = ""
