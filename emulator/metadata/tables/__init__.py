"""The tables the emulator ships, as data, one module per area (schema-breadth.md §6; navigation names as
relationships.md §2 gives them, see `columns`)."""
from __future__ import annotations

from ..model import Table
from .activities import ACTIVITYPARTY, ACTIVITYPOINTER, ANNOTATION, APPOINTMENT, EMAIL, PHONECALL, TASK
from .core import ACCOUNT, BUSINESSUNIT, CONTACT, SYSTEMUSER, TEAM
from .omnichannel import (
    CONTEXTITEM,
    LIVEWORKITEM,
    MESSAGEBLOCK,
    QUEUE_OC,
    SESSION,
    SESSIONPARTICIPANT,
    TRANSCRIPT,
    WORKSTREAM,
)
from .platform import ROLE, SAVEDQUERY, SOLUTION, USERQUERY
from .sales import LEAD
from .service import INCIDENT, QUEUE, QUEUEITEM

ALL_TABLES: tuple[Table, ...] = (
    LIVEWORKITEM, SESSION, SYSTEMUSER, WORKSTREAM, QUEUE, QUEUE_OC, ACCOUNT, CONTACT, INCIDENT, TEAM,
    BUSINESSUNIT, LEAD, QUEUEITEM, ACTIVITYPOINTER, TASK, EMAIL, PHONECALL, APPOINTMENT, ACTIVITYPARTY, ANNOTATION,
    ROLE, SOLUTION, SAVEDQUERY, USERQUERY, SESSIONPARTICIPANT, TRANSCRIPT, MESSAGEBLOCK, CONTEXTITEM,
)
# The activity tables whose rows `activitypointer` lists (see store/schema.py).
POINTER_SOURCES = ("task", "email", "phonecall", "appointment", "msdyn_ocliveworkitem", "msdyn_ocsession")
