"""The audit trail's words cover every kind of record the models can write."""

from psiflow.domain import audit_words
from psiflow.extensions import db
from psiflow.models import RECORD_TYPES

# Rows the application writes about itself, never about a patient's record.
NOT_A_PATIENTS_RECORD = {
    "Clinic",
    "User",
    "LoginSession",
    "CourseOutcomeScore",
    "CourseDueItem",
    "AuditChainHead",
    # A trainee's practicum log belongs to the trainee, never to a patient.
    "PracticumEntry",
    "PracticumSignature",
    "PracticumAddendum",
}


def test_record_types_and_their_class_names_match_the_models():
    assert audit_words.RECORD_CLASSES == {t: m.__name__ for t, m in RECORD_TYPES.items()}


def test_every_model_that_belongs_to_a_patient_has_a_name_and_a_record_group():
    mapped = {m.class_.__name__ for m in db.Model.registry.mappers} - {"AuditEvent"}
    grouped = {t for _label, types in audit_words.RECORD_GROUPS.values() for t in types}
    for name in mapped - NOT_A_PATIENTS_RECORD:
        assert name in audit_words._NOUNS, name
        assert name in grouped, name
