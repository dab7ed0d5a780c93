"""The database models, one module per aggregate."""

from psiflow.models.audit import AuditChainHead, AuditEvent
from psiflow.models.courses import Course, PhaseTransition
from psiflow.models.patients import Patient
from psiflow.models.users import Clinic, User

__all__ = ["AuditChainHead", "AuditEvent", "Clinic", "Course", "Patient", "PhaseTransition", "User"]
