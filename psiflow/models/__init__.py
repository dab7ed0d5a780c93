"""The database models, one module per aggregate."""

from psiflow.models.courses import Course, PhaseTransition
from psiflow.models.patients import Patient
from psiflow.models.users import Clinic, User

__all__ = ["Clinic", "Course", "Patient", "PhaseTransition", "User"]
