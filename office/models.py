"""Every feature's models, so that Alembic and the tests see one complete metadata."""

from office.alerts.models import Notice, NoticeDelivery, NoticeDismissal, NoticePreference
from office.api.models import IdempotencyKey
from office.audit.models import AuditEvent
from office.auth.models import ApiToken, LoginAttempt, RecoveryCode, TwoFactorCredential, User
from office.db import Base
from office.documents.models import Document, DocumentChunk
from office.fuel.models import (
    DailyLog,
    DailyLogEvent,
    DipReading,
    Generator,
    GeneratorReading,
    Meter,
    MeterReading,
)
from office.jobs.models import Job, JobFile, JobFileChunk
from office.once import FormSubmission
from office.periods.models import SignedOffMonth
from office.repairs.models import WorkCost, WorkEquipment, WorkOrder
from office.reviews.models import ReviewItem, ReviewNote
from office.staffing.models import (
    CrossingList,
    DutyShift,
    PlanProposal,
    StaffingRule,
    StaffMember,
    Stay,
)
from office.stock.models import LotDraw, StockLot, StockMovement, Store
from office.supplies.models import Delivery, DeliveryLine
from office.waivers.models import (
    DrawdownEntry,
    HsRule,
    LedgerCheckpoint,
    LedgerHead,
    Resource,
    Waiver,
    WaiverLine,
    WaiverStatusChange,
)

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Base",
    "CrossingList",
    "DailyLog",
    "DailyLogEvent",
    "Delivery",
    "DeliveryLine",
    "DipReading",
    "Document",
    "DocumentChunk",
    "DrawdownEntry",
    "DutyShift",
    "FormSubmission",
    "Generator",
    "GeneratorReading",
    "HsRule",
    "IdempotencyKey",
    "Job",
    "JobFile",
    "JobFileChunk",
    "LedgerCheckpoint",
    "LedgerHead",
    "LoginAttempt",
    "LotDraw",
    "Meter",
    "MeterReading",
    "Notice",
    "NoticeDelivery",
    "NoticeDismissal",
    "NoticePreference",
    "PlanProposal",
    "RecoveryCode",
    "Resource",
    "ReviewItem",
    "ReviewNote",
    "SignedOffMonth",
    "StaffMember",
    "StaffingRule",
    "Stay",
    "StockLot",
    "StockMovement",
    "Store",
    "TwoFactorCredential",
    "User",
    "Waiver",
    "WaiverLine",
    "WaiverStatusChange",
    "WorkCost",
    "WorkEquipment",
    "WorkOrder",
]
