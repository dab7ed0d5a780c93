"""access.py as a table of role x relationship x action, denials included."""

from dataclasses import dataclass, field

import pytest

from psiflow.access import ENDPOINTS, Action, Role, can, may_void, relationship


@dataclass
class U:
    id: int
    role: Role
    clinic_id: int = 1
    is_active: bool = True
    supervisor_id: int | None = None


@dataclass
class P:
    lead_clinician_id: int
    co_facilitator_id: int | None = None
    is_practice: bool = False
    clinic_id: int = 1
    care_team_supervisor_ids: set = field(default_factory=set)


SUPERVISOR_ID = 90

# relationship name -> a function building the patient as seen by user 1
PATIENTS = {
    "lead": lambda practice: P(1, is_practice=practice),
    "co_facilitator": lambda practice: P(2, co_facilitator_id=1, is_practice=practice),
    "supervisor": lambda practice: P(2, is_practice=practice, care_team_supervisor_ids={1}),
    "none": lambda practice: P(2, co_facilitator_id=3, is_practice=practice),
}

CARE = {Action.VIEW, Action.EDIT, Action.ADVANCE, Action.HOLD, Action.VOID}
SUPERVISE = {
    Action.VIEW,
    Action.ADVANCE,
    Action.HOLD,
    Action.OVERRIDE_GATE,
    Action.CLEAR_FLAG,
    Action.REVIEW,
    Action.VIEW_AUDIT,
    Action.RECORD_DEVIATION,
    Action.VOID,
}
# Downloading the audit history is an export: never of a practice patient.
AUDIT_EXPORT = {Action.EXPORT_AUDIT}

EXPECTED = {
    # (role, relationship, practice): the actions allowed; everything else must be denied
    (Role.CLINICIAN, "lead", False): CARE | {Action.EXPORT},
    (Role.CLINICIAN, "co_facilitator", False): CARE | {Action.EXPORT},
    (Role.SUPERVISOR, "lead", False): CARE | SUPERVISE | AUDIT_EXPORT | {Action.EXPORT},
    (Role.SUPERVISOR, "co_facilitator", False): CARE | SUPERVISE | AUDIT_EXPORT | {Action.EXPORT},
    (Role.SUPERVISOR, "supervisor", False): SUPERVISE | AUDIT_EXPORT | {Action.EXPORT},
    (Role.SUPERVISOR, "supervisor", True): SUPERVISE,  # a trainee's practice patient, no export
    # a supervisor co-facilitating a trainee's practice session
    (Role.SUPERVISOR, "lead", True): CARE | SUPERVISE,
    (Role.SUPERVISOR, "co_facilitator", True): CARE | SUPERVISE,
    (Role.TRAINEE, "lead", True): CARE,
    (Role.TRAINEE, "co_facilitator", True): CARE,
    (Role.ADMIN, "lead", False): {Action.VIEW_AUDIT} | AUDIT_EXPORT,
    (Role.ADMIN, "co_facilitator", False): {Action.VIEW_AUDIT} | AUDIT_EXPORT,
    (Role.ADMIN, "supervisor", False): {Action.VIEW_AUDIT} | AUDIT_EXPORT,
    (Role.ADMIN, "none", False): {Action.VIEW_AUDIT} | AUDIT_EXPORT,
}
# Admins read the audit trail of any patient of their clinic, practice ones included (and
# download it, practice ones excluded).
EXPECTED.update({(Role.ADMIN, rel, True): {Action.VIEW_AUDIT} for rel in PATIENTS})

CASES = [
    (role, rel, practice, action)
    for role in Role
    for rel in PATIENTS
    for practice in (False, True)
    for action in Action
]


@pytest.mark.parametrize("role,rel,practice,action", CASES)
def test_access_table(role, rel, practice, action):
    user = U(1, role)
    patient = PATIENTS[rel](practice)
    allowed = EXPECTED.get((role, rel, practice), set())
    assert can(user, action, patient) is (action in allowed)


def test_clinician_never_sees_a_practice_patient_even_as_lead():
    assert not can(U(1, Role.CLINICIAN), Action.VIEW, P(1, is_practice=True))


def test_trainee_never_sees_a_real_patient_even_as_lead():
    assert not can(U(1, Role.TRAINEE), Action.VIEW, P(1, is_practice=False))


def test_deactivated_user_can_do_nothing():
    for action in Action:
        assert not can(U(1, Role.SUPERVISOR, is_active=False), action, P(1))


def test_admin_audit_access_stops_at_the_clinic():
    assert not can(U(1, Role.ADMIN, clinic_id=2), Action.VIEW_AUDIT, P(5, clinic_id=1))
    assert not can(U(1, Role.ADMIN, clinic_id=2), Action.EXPORT_AUDIT, P(5, clinic_id=1))


def test_relationship_prefers_the_closest_tie():
    assert relationship(U(1, Role.SUPERVISOR), P(1, care_team_supervisor_ids={1})) == "lead"
    assert relationship(U(7, Role.CLINICIAN), P(1)) == "none"


def test_every_rule_with_a_patient_action_is_for_care_roles_only():
    for endpoint, rule in ENDPOINTS.items():
        if rule.patient is not None:
            assert Role.ADMIN not in rule.roles or rule.patient in (
                Action.VIEW_AUDIT,
                Action.EXPORT_AUDIT,
            ), endpoint


@pytest.mark.parametrize(
    "role,caseload,practice,cosign,partners",
    [
        (Role.CLINICIAN, True, False, False, {Role.CLINICIAN, Role.SUPERVISOR}),
        (Role.SUPERVISOR, True, False, False, {Role.CLINICIAN, Role.SUPERVISOR}),
        (Role.TRAINEE, True, True, True, {Role.TRAINEE, Role.SUPERVISOR}),
        (Role.ADMIN, False, False, False, {Role.CLINICIAN, Role.SUPERVISOR}),
    ],
)
def test_role_rules_the_views_ask_for(role, caseload, practice, cosign, partners):
    from psiflow.access import (
        co_facilitator_roles,
        has_caseload,
        needs_cosignature,
        works_on_practice_patients,
    )

    assert has_caseload(role) is caseload
    assert works_on_practice_patients(role) is practice
    assert needs_cosignature(role) is cosign
    assert co_facilitator_roles(role) == partners


def test_a_trainee_is_never_paired_with_a_clinician_on_real_care():
    from psiflow.access import co_facilitator_roles

    assert Role.CLINICIAN not in co_facilitator_roles(Role.TRAINEE)
    assert Role.TRAINEE not in co_facilitator_roles(Role.CLINICIAN)


# may_void(user 1, author, patient): who, beyond the patient-level VOID grant, voids whose record
VOIDS = [
    # (user 1's role, relationship to the patient, the author, allowed)
    (Role.CLINICIAN, "lead", U(1, Role.CLINICIAN), True),  # the signer
    (Role.CLINICIAN, "co_facilitator", U(2, Role.CLINICIAN), False),  # the other facilitator
    (Role.CLINICIAN, "lead", U(2, Role.CLINICIAN), False),  # the lead, of the co-facilitator's
    (Role.CLINICIAN, "lead", U(2, Role.CLINICIAN, supervisor_id=1), False),  # not a supervisor
    (Role.CLINICIAN, "none", U(2, Role.CLINICIAN), False),  # another clinician
    (Role.SUPERVISOR, "supervisor", U(2, Role.CLINICIAN, supervisor_id=1), True),  # both
    (Role.SUPERVISOR, "supervisor", U(2, Role.CLINICIAN), True),  # the care team's supervisor
    (Role.SUPERVISOR, "co_facilitator", U(2, Role.CLINICIAN, supervisor_id=1), True),  # author's
    (Role.SUPERVISOR, "co_facilitator", U(2, Role.CLINICIAN), False),  # only a facilitator
    (Role.SUPERVISOR, "none", U(2, Role.CLINICIAN, supervisor_id=1), False),  # off the caseload
    (Role.ADMIN, "lead", U(1, Role.ADMIN), False),  # holds accounts, not care
    (Role.ADMIN, "none", U(2, Role.CLINICIAN), False),
]


@pytest.mark.parametrize("role,rel,author,allowed", VOIDS)
def test_who_may_void_a_record_of_a_real_patient(role, rel, author, allowed):
    assert may_void(U(1, role), author, PATIENTS[rel](False)) is allowed


@pytest.mark.parametrize(
    "role,rel,author,allowed",
    [
        (Role.TRAINEE, "lead", U(1, Role.TRAINEE), True),  # the trainee who signed it
        (Role.TRAINEE, "co_facilitator", U(2, Role.TRAINEE), False),  # a fellow trainee
        (Role.TRAINEE, "lead", U(2, Role.SUPERVISOR), False),  # their co-facilitating supervisor's
        (Role.SUPERVISOR, "supervisor", U(2, Role.TRAINEE, supervisor_id=1), True),
        (Role.CLINICIAN, "lead", U(1, Role.CLINICIAN), False),  # never a practice patient
    ],
)
def test_who_may_void_a_record_of_a_practice_patient(role, rel, author, allowed):
    assert may_void(U(1, role), author, PATIENTS[rel](True)) is allowed


def test_a_deactivated_signer_may_not_void():
    assert not may_void(U(1, Role.CLINICIAN, is_active=False), U(1, Role.CLINICIAN), P(1))


def test_the_void_endpoint_asks_for_the_void_grant():
    assert ENDPOINTS["records.void"].patient == Action.VOID
