"""Every table of civicline, as typed declarative models on one MetaData (`Base.metadata`)."""

from ivr.storage.models.base import Base
from ivr.storage.models.calls import Call, CallEvent, FlowVersion
from ivr.storage.models.directory import (
    AuditEntry,
    Category,
    Department,
    Officer,
    OfficerLeave,
    User,
)
from ivr.storage.models.jobs import JOB_STATUSES, Job
from ivr.storage.models.messaging import Callback, CallerPreference, SmsOptOut, SmsOutbox
from ivr.storage.models.tickets import (
    PinAttempt,
    Recording,
    Ticket,
    TicketCounter,
    TicketStatusChange,
)

__all__ = [
    "JOB_STATUSES",
    "AuditEntry",
    "Base",
    "Call",
    "CallEvent",
    "Callback",
    "CallerPreference",
    "Category",
    "Department",
    "FlowVersion",
    "Job",
    "Officer",
    "OfficerLeave",
    "PinAttempt",
    "Recording",
    "SmsOptOut",
    "SmsOutbox",
    "Ticket",
    "TicketCounter",
    "TicketStatusChange",
    "User",
]
