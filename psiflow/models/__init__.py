"""The database models, one module per aggregate."""

from psiflow.models.alerts import Alert, AlertKind
from psiflow.models.audit import AuditChainHead, AuditEvent
from psiflow.models.courses import Course, PhaseTransition
from psiflow.models.deviations import DoseDeviation
from psiflow.models.dosing import (
    AdverseEvent,
    AdverseEventUpdate,
    DoseAdministration,
    DosingSession,
    SessionAnswer,
    SessionEvent,
    VitalSign,
)
from psiflow.models.due_items import CourseDueItem
from psiflow.models.entry_receipts import EntryReceipt
from psiflow.models.integration import ActionItem, IntegrationSession, SafetyCheckIn
from psiflow.models.measures import MeasureResponse
from psiflow.models.outcome_scores import CourseOutcomeScore
from psiflow.models.patients import Patient
from psiflow.models.practicum import PracticumAddendum, PracticumEntry, PracticumSignature
from psiflow.models.preparation import (
    Consent,
    PreparationSession,
    Screening,
    ScreeningFlag,
    SetIntake,
    TouchConsentEntry,
)
from psiflow.models.records import RECORD_TYPES, Addendum, ClinicalRecord, Signature
from psiflow.models.rems import RemsMonitoringForm
from psiflow.models.reviews import Review
from psiflow.models.training import (
    AdherenceComment,
    ScenarioDelivery,
    ScenarioRun,
    TrainingClock,
)
from psiflow.models.users import Clinic, LoginSession, User

__all__ = [
    "AdverseEvent",
    "AdverseEventUpdate",
    "DoseAdministration",
    "DosingSession",
    "DoseDeviation",
    "EntryReceipt",
    "RemsMonitoringForm",
    "SessionAnswer",
    "SessionEvent",
    "VitalSign",
    "Alert",
    "AlertKind",
    "AuditChainHead",
    "AuditEvent",
    "ActionItem",
    "Alert",
    "AlertKind",
    "IntegrationSession",
    "Review",
    "SafetyCheckIn",
    "Consent",
    "MeasureResponse",
    "PreparationSession",
    "Screening",
    "ScreeningFlag",
    "SetIntake",
    "TouchConsentEntry",
    "RECORD_TYPES",
    "Addendum",
    "Clinic",
    "LoginSession",
    "ClinicalRecord",
    "Course",
    "CourseDueItem",
    "CourseOutcomeScore",
    "Patient",
    "PhaseTransition",
    "PracticumAddendum",
    "PracticumEntry",
    "PracticumSignature",
    "Signature",
    "User",
    "AdherenceComment",
    "ScenarioDelivery",
    "ScenarioRun",
    "TrainingClock",
]
