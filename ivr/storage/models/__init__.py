"""Every table of civicline, as typed declarative models on one MetaData (`Base.metadata`)."""

from ivr.storage.models.appointments import APPOINTMENT_STATUSES, Appointment, ServiceCounter
from ivr.storage.models.base import Base
from ivr.storage.models.calls import (
    Call,
    CallChoice,
    CallEvent,
    CallWords,
    FlowVersion,
    LineNode,
)
from ivr.storage.models.directory import (
    AuditEntry,
    Category,
    Department,
    Officer,
    OfficerLeave,
    User,
    UserDepartment,
)
from ivr.storage.models.followup import CallbackAttempt, SurveyResponse, TicketEscalation
from ivr.storage.models.jobs import JOB_STATUSES, Job
from ivr.storage.models.messaging import (
    Callback,
    CallerPreference,
    SmsDelivery,
    SmsInbound,
    SmsOptOut,
    SmsOutbox,
)
from ivr.storage.models.notices import Announcement, OfficeClosure
from ivr.storage.models.open311 import Open311Hit, Open311Key, Open311Push, Open311Report
from ivr.storage.models.signin import LoginThrottle, SiteSession
from ivr.storage.models.stats import (
    CallDayStats,
    CallHourOfDayStats,
    CallHourStats,
    ChoiceDayStats,
    NodeDayStats,
    SurveyDayStats,
    TicketDayStats,
)
from ivr.storage.models.tickets import (
    PinAttempt,
    Recording,
    Ticket,
    TicketCounter,
    TicketNote,
    TicketStatusChange,
)
from ivr.storage.models.twilio import (
    TwilioCallEnd,
    TwilioCallStatus,
    TwilioRecording,
    TwilioStreamToken,
)

__all__ = [
    "APPOINTMENT_STATUSES",
    "JOB_STATUSES",
    "Announcement",
    "Appointment",
    "AuditEntry",
    "Base",
    "Call",
    "CallChoice",
    "CallDayStats",
    "CallEvent",
    "CallHourOfDayStats",
    "CallHourStats",
    "CallWords",
    "Callback",
    "CallbackAttempt",
    "CallerPreference",
    "Category",
    "ChoiceDayStats",
    "Department",
    "FlowVersion",
    "Job",
    "LineNode",
    "LoginThrottle",
    "NodeDayStats",
    "OfficeClosure",
    "Officer",
    "OfficerLeave",
    "Open311Hit",
    "Open311Key",
    "Open311Push",
    "Open311Report",
    "PinAttempt",
    "Recording",
    "ServiceCounter",
    "SiteSession",
    "SmsDelivery",
    "SmsInbound",
    "SmsOptOut",
    "SmsOutbox",
    "SurveyDayStats",
    "SurveyResponse",
    "Ticket",
    "TicketCounter",
    "TicketDayStats",
    "TicketEscalation",
    "TicketNote",
    "TicketStatusChange",
    "TwilioCallEnd",
    "TwilioCallStatus",
    "TwilioRecording",
    "TwilioStreamToken",
    "User",
    "UserDepartment",
]
