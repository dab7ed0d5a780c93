"""Who may do what: the one place PsiFlow decides access.

Pure functions over duck-typed users and patients (no Flask, no database), plus the table of
every endpoint's required role and patient relationship. `psiflow.web.guard` enforces the table on
each request and denies any endpoint that is not listed in it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.StrEnum):
    CLINICIAN = "clinician"
    SUPERVISOR = "supervisor"
    TRAINEE = "trainee"
    ADMIN = "admin"


class Relationship(enum.StrEnum):
    LEAD = "lead"
    CO_FACILITATOR = "co_facilitator"
    SUPERVISOR = "supervisor"  # supervises the lead clinician or the co-facilitator
    NONE = "none"


class Action(enum.StrEnum):
    VIEW = "view"
    EDIT = "edit"  # write clinical records
    ADVANCE = "advance"  # move the course through an open gate
    HOLD = "hold"  # put on hold, resume, withdraw
    OVERRIDE_GATE = "override_gate"
    CLEAR_FLAG = "clear_flag"
    REVIEW = "review"  # co-sign or return a supervisee's note
    VIEW_AUDIT = "view_audit"
    EXPORT_AUDIT = "export_audit"  # download a patient's audit history (CSV)
    EXPORT = "export"
    RECORD_DEVIATION = "record_deviation"  # approve a dose the protocol does not give
    VOID = "void"  # void records of this patient; which records: `may_void`


CARE_TEAM = frozenset({Relationship.LEAD, Relationship.CO_FACILITATOR})
_CARE = frozenset({Action.VIEW, Action.EDIT, Action.ADVANCE, Action.HOLD, Action.VOID})
_SUPERVISE = frozenset(
    {
        Action.VIEW,
        Action.ADVANCE,
        Action.HOLD,
        Action.OVERRIDE_GATE,
        Action.CLEAR_FLAG,
        Action.REVIEW,
        Action.VIEW_AUDIT,
        Action.EXPORT_AUDIT,
        Action.RECORD_DEVIATION,
        Action.VOID,
    }
)

# (role, relationship) -> what that pair may do. Anything not listed is denied.
_GRANTS: dict[tuple[Role, Relationship], frozenset[Action]] = {
    (Role.CLINICIAN, Relationship.LEAD): _CARE | {Action.EXPORT},
    (Role.CLINICIAN, Relationship.CO_FACILITATOR): _CARE | {Action.EXPORT},
    (Role.TRAINEE, Relationship.LEAD): _CARE,
    (Role.TRAINEE, Relationship.CO_FACILITATOR): _CARE,
    (Role.SUPERVISOR, Relationship.LEAD): _CARE | _SUPERVISE | {Action.EXPORT},
    (Role.SUPERVISOR, Relationship.CO_FACILITATOR): _CARE | _SUPERVISE | {Action.EXPORT},
    (Role.SUPERVISOR, Relationship.SUPERVISOR): _SUPERVISE | {Action.EXPORT},
}

# Practice (fictional) patients belong to training: only trainees and their supervisors see
# them, and they never leave the app in an export.
_PRACTICE_ROLES = frozenset({Role.TRAINEE, Role.SUPERVISOR})
_REAL_ROLES = frozenset({Role.CLINICIAN, Role.SUPERVISOR})
_NEVER_ON_PRACTICE = frozenset({Action.EXPORT, Action.EXPORT_AUDIT})


def relationship(user, patient) -> Relationship:
    """How `user` stands to `patient`'s care. Patients expose `care_team_supervisor_ids`."""
    if patient.lead_clinician_id == user.id:
        return Relationship.LEAD
    if patient.co_facilitator_id is not None and patient.co_facilitator_id == user.id:
        return Relationship.CO_FACILITATOR
    if user.id in patient.care_team_supervisor_ids:
        return Relationship.SUPERVISOR
    return Relationship.NONE


def can(user, action: Action, patient) -> bool:
    if user is None or not getattr(user, "is_active", False):
        return False
    role = Role(user.role)
    if role == Role.ADMIN:
        # Admins hold accounts, not care; they may read the audit trail of their own clinic,
        # and download it, except a practice patient's, which never leaves the app.
        if action == Action.EXPORT_AUDIT and patient.is_practice:
            return False
        return (
            action in (Action.VIEW_AUDIT, Action.EXPORT_AUDIT)
            and user.clinic_id == patient.clinic_id
        )
    if patient.is_practice and role not in _PRACTICE_ROLES:
        return False
    if not patient.is_practice and role not in _REAL_ROLES:
        return False
    if patient.is_practice and action in _NEVER_ON_PRACTICE:
        return False
    return action in _GRANTS.get((role, relationship(user, patient)), frozenset())


def may_void(user, author, patient) -> bool:
    """Voiding takes a record out of the course (gates, outcomes): only its author, who signed
    it, or a supervisor (the author's own, or one of the care team's) may. A co-facilitator,
    a colleague or an administrator may not, whatever else they may do for the patient."""
    if not can(user, Action.VOID, patient):
        return False
    if user.id == author.id:
        return True
    if Role(user.role) != Role.SUPERVISOR:
        return False
    return author.supervisor_id == user.id or user.id in patient.care_team_supervisor_ids


def may_attest(user, patient) -> bool:
    """A dosing record is attested (co-signed after review) by a supervisor of the patient's
    care team: the lead's or the co-facilitator's, never another team's supervisor."""
    if not can(user, Action.REVIEW, patient) or Role(user.role) != Role.SUPERVISOR:
        return False
    return user.id in patient.care_team_supervisor_ids


def sees_practice_patients(role: Role) -> bool:
    return Role(role) in _PRACTICE_ROLES


def sees_real_patients(role: Role) -> bool:
    return Role(role) in _REAL_ROLES


def sees_supervisees_patients(role: Role) -> bool:
    return Role(role) == Role.SUPERVISOR


def receives_safety_alerts(role: Role) -> bool:
    """Safety alerts go to supervisors: their navigation counts them, their board leads with
    the critical ones (the alerts page itself is in ENDPOINTS)."""
    return Role(role) == Role.SUPERVISOR


def has_caseload(role: Role) -> bool:
    """Admins hold accounts, not patients: their home is user management."""
    return Role(role) != Role.ADMIN


def works_on_practice_patients(role: Role) -> bool:
    """A trainee's own patients are practice (fictional) ones: what they create and see first."""
    return Role(role) == Role.TRAINEE


def needs_cosignature(role: Role) -> bool:
    """What a trainee signs counts only once a supervisor co-signs it."""
    return Role(role) == Role.TRAINEE


def co_facilitator_roles(role: Role) -> frozenset[Role]:
    """Who may co-facilitate with `role`: trainees practise with trainees or a supervisor,
    clinicians pair with clinical staff, never across the practice/real divide."""
    return _PRACTICE_ROLES if works_on_practice_patients(role) else _REAL_ROLES


# --- Practicum logs: a trainee's own record, not a patient's ------------------------------


class PracticumAction(enum.StrEnum):
    VIEW = "view"  # read the log, its totals and its export
    LOG = "log"  # write, edit (while a draft) and sign one's own entries
    SIGN_OFF = "sign_off"  # the supervisor's signature that makes hours count
    AMEND = "amend"  # an addendum to a signed entry
    VOID = "void"  # take an entry out of the totals, with a reason


_PRACTICUM_SELF = frozenset(
    {
        PracticumAction.VIEW,
        PracticumAction.LOG,
        PracticumAction.AMEND,
        PracticumAction.VOID,
    }
)
_PRACTICUM_SUPERVISOR = frozenset(
    {
        PracticumAction.VIEW,
        PracticumAction.SIGN_OFF,
        PracticumAction.AMEND,
        PracticumAction.VOID,
    }
)


def may_practicum(user, action: PracticumAction, trainee) -> bool:
    """A practicum log is seen by its trainee and by the trainee's own supervisor, nobody
    else: not another trainee, not another supervisor, not a clinician, not an admin. The
    trainee writes it; the supervisor signs it off."""
    if user is None or not getattr(user, "is_active", False) or trainee is None:
        return False
    if Role(trainee.role) != Role.TRAINEE:
        return False
    if user.id == trainee.id:
        return action in _PRACTICUM_SELF
    if Role(user.role) == Role.SUPERVISOR and trainee.supervisor_id == user.id:
        return action in _PRACTICUM_SUPERVISOR
    return False


def keeps_practicum_log(role: Role) -> bool:
    return Role(role) == Role.TRAINEE


def signs_off_practicum(role: Role) -> bool:
    return Role(role) == Role.SUPERVISOR


# --- The endpoint table --------------------------------------------------------------------

ANY_ROLE = frozenset(Role)
CARE_ROLES = frozenset({Role.CLINICIAN, Role.SUPERVISOR, Role.TRAINEE})


@dataclass(frozen=True)
class Rule:
    """What an endpoint needs: login, one of `roles`, and `patient` on the patient it names."""

    roles: frozenset[Role] = ANY_ROLE
    patient: Action | None = None
    public: bool = False


PUBLIC = Rule(public=True)
_PRACTICUM_ROLES = frozenset({Role.TRAINEE, Role.SUPERVISOR})

ENDPOINTS: dict[str, Rule] = {
    "static": PUBLIC,
    "auth.login": PUBLIC,
    "auth.logout": Rule(),
    "auth.change_password": Rule(),
    "auth.end_all_sessions": Rule(),  # one's own sessions only: the view takes no user id
    "auth.unlock": Rule(),  # one's own locked login only: it checks that user's password
    "patients.board": Rule(roles=CARE_ROLES | {Role.ADMIN}),
    "patients.new": Rule(roles=CARE_ROLES),
    "patients.show": Rule(roles=CARE_ROLES, patient=Action.VIEW),
    "patients.edit_safety": Rule(roles=CARE_ROLES, patient=Action.EDIT),
    "patients.start_course_view": Rule(roles=CARE_ROLES, patient=Action.EDIT),
    "patients.advance": Rule(roles=CARE_ROLES, patient=Action.ADVANCE),
    "patients.override": Rule(roles=frozenset({Role.SUPERVISOR}), patient=Action.OVERRIDE_GATE),
    "patients.hold": Rule(roles=CARE_ROLES, patient=Action.HOLD),
    "patients.resume": Rule(roles=CARE_ROLES, patient=Action.HOLD),
    "patients.withdraw": Rule(roles=CARE_ROLES, patient=Action.HOLD),
    # every clinical record type: page, signatures, addenda, voiding
    "records.show": Rule(roles=CARE_ROLES, patient=Action.VIEW),
    "records.sign": Rule(roles=CARE_ROLES, patient=Action.EDIT),
    "records.addendum": Rule(roles=CARE_ROLES, patient=Action.EDIT),
    "records.void": Rule(roles=CARE_ROLES, patient=Action.VOID),  # and `may_void`
    #
    # preparation
    "preparation.new_screening": Rule(roles=CARE_ROLES, patient=Action.EDIT),
    "preparation.edit_screening": Rule(roles=CARE_ROLES, patient=Action.EDIT),
    "preparation.clear_screening_flag": Rule(
        roles=frozenset({Role.SUPERVISOR}), patient=Action.CLEAR_FLAG
    ),
    "preparation.new_consent": Rule(roles=CARE_ROLES, patient=Action.EDIT),
    "preparation.edit_consent": Rule(roles=CARE_ROLES, patient=Action.EDIT),
    "preparation.add_touch_consent": Rule(roles=CARE_ROLES, patient=Action.EDIT),
    "preparation.new_set_intake": Rule(roles=CARE_ROLES, patient=Action.EDIT),
    "preparation.edit_set_intake": Rule(roles=CARE_ROLES, patient=Action.EDIT),
    "preparation.new_preparation_session": Rule(roles=CARE_ROLES, patient=Action.EDIT),
    "preparation.edit_preparation_session": Rule(roles=CARE_ROLES, patient=Action.EDIT),
    "preparation.plan_dosing": Rule(roles=CARE_ROLES, patient=Action.EDIT),
    "measures.new": Rule(roles=CARE_ROLES, patient=Action.EDIT),
    #
    #
    # dosing sessions
    "sessions.start": Rule(roles=CARE_ROLES, patient=Action.EDIT),
    "sessions.live": Rule(roles=CARE_ROLES, patient=Action.VIEW),
    "sessions.printable": Rule(roles=CARE_ROLES, patient=Action.VIEW),
    "sessions.answer": Rule(roles=CARE_ROLES, patient=Action.EDIT),
    "sessions.details": Rule(roles=CARE_ROLES, patient=Action.EDIT),
    "sessions.dose": Rule(roles=CARE_ROLES, patient=Action.EDIT),
    "sessions.event": Rule(roles=CARE_ROLES, patient=Action.EDIT),
    "sessions.vitals": Rule(roles=CARE_ROLES, patient=Action.EDIT),
    "sessions.acknowledge": Rule(roles=CARE_ROLES, patient=Action.EDIT),
    "sessions.adverse_event": Rule(roles=CARE_ROLES, patient=Action.EDIT),
    "sessions.discharge": Rule(roles=CARE_ROLES, patient=Action.EDIT),
    "sessions.end_early": Rule(roles=CARE_ROLES, patient=Action.EDIT),
    "sessions.follow_up_adverse_event": Rule(roles=CARE_ROLES, patient=Action.EDIT),
    # regulated values: the REMS monitoring form's submission, a supervisor's dose deviation
    "regulated.rems_form_submitted": Rule(roles=CARE_ROLES, patient=Action.EDIT),
    "regulated.dose_deviation": Rule(
        roles=frozenset({Role.SUPERVISOR}), patient=Action.RECORD_DEVIATION
    ),
    #
    #
    # integration and supervision
    "integration.new_session": Rule(roles=CARE_ROLES, patient=Action.EDIT),
    "integration.edit_session": Rule(roles=CARE_ROLES, patient=Action.EDIT),
    "integration.new_check_in": Rule(roles=CARE_ROLES, patient=Action.EDIT),
    "integration.export_csv": Rule(
        roles=frozenset({Role.CLINICIAN, Role.SUPERVISOR}), patient=Action.EXPORT
    ),
    "integration.export_json": Rule(
        roles=frozenset({Role.CLINICIAN, Role.SUPERVISOR}), patient=Action.EXPORT
    ),
    "supervision.queue": Rule(roles=frozenset({Role.SUPERVISOR})),
    "supervision.review": Rule(roles=frozenset({Role.SUPERVISOR}), patient=Action.REVIEW),
    "supervision.resubmit": Rule(roles=CARE_ROLES, patient=Action.EDIT),
    "supervision.alerts": Rule(roles=frozenset({Role.SUPERVISOR})),
    "supervision.acknowledge": Rule(roles=frozenset({Role.SUPERVISOR}), patient=Action.REVIEW),
    "supervision.outcomes": Rule(roles=frozenset({Role.SUPERVISOR})),
    "supervision.outcomes_csv": Rule(roles=frozenset({Role.SUPERVISOR})),
    #
    # practicum hours: the log's own rule is `may_practicum` (trainee and their supervisor)
    "training.practicum": Rule(roles=_PRACTICUM_ROLES),
    "training.practicum_log": Rule(roles=_PRACTICUM_ROLES),
    "training.practicum_new": Rule(roles=frozenset({Role.TRAINEE})),
    "training.practicum_entry": Rule(roles=_PRACTICUM_ROLES),
    "training.practicum_edit": Rule(roles=frozenset({Role.TRAINEE})),
    "training.practicum_sign": Rule(roles=_PRACTICUM_ROLES),
    "training.practicum_addendum": Rule(roles=_PRACTICUM_ROLES),
    "training.practicum_void": Rule(roles=_PRACTICUM_ROLES),
    "training.practicum_print": Rule(roles=_PRACTICUM_ROLES),
    "training.practicum_csv": Rule(roles=_PRACTICUM_ROLES),
    #
    #
    # training: scenarios are run by trainees on their own practice patients; the run page is
    # the trainee's and their supervisor's (the relationship to the practice patient decides)
    "training.scenarios": Rule(roles=frozenset({Role.TRAINEE})),
    "training.start": Rule(roles=frozenset({Role.TRAINEE})),
    "training.run": Rule(roles=frozenset({Role.TRAINEE, Role.SUPERVISOR}), patient=Action.VIEW),
    "training.comment": Rule(roles=frozenset({Role.SUPERVISOR}), patient=Action.REVIEW),
    # The training clock is no clinical content: whoever may watch a practice session may run
    # it faster; stepping it ("jump to 120 minutes") is the supervisor's. Real sessions refuse.
    "training.clock_speed": Rule(
        roles=frozenset({Role.TRAINEE, Role.SUPERVISOR}), patient=Action.VIEW
    ),
    "training.clock_jump": Rule(roles=frozenset({Role.SUPERVISOR}), patient=Action.REVIEW),
    "training.progress": Rule(roles=frozenset({Role.TRAINEE})),  # one's own: takes no user id
    "training.supervisees": Rule(roles=frozenset({Role.SUPERVISOR})),  # one's own supervisees
    #
    #
    # audit
    #
    #
    # accounts
    "admin.users": Rule(roles=frozenset({Role.ADMIN})),
    "admin.patients": Rule(roles=frozenset({Role.ADMIN})),
    "admin.new_user": Rule(roles=frozenset({Role.ADMIN})),
    "admin.edit_user": Rule(roles=frozenset({Role.ADMIN})),
    "admin.deactivate_user": Rule(roles=frozenset({Role.ADMIN})),
    "admin.reactivate_user": Rule(roles=frozenset({Role.ADMIN})),
    "admin.end_user_sessions": Rule(roles=frozenset({Role.ADMIN})),
    "admin.refusals": Rule(roles=frozenset({Role.ADMIN})),
    "audit.patient_history": Rule(
        roles=frozenset({Role.SUPERVISOR, Role.ADMIN}), patient=Action.VIEW_AUDIT
    ),
    "audit.patient_history_csv": Rule(
        roles=frozenset({Role.SUPERVISOR, Role.ADMIN}), patient=Action.EXPORT_AUDIT
    ),
}


def rule_for(endpoint: str | None) -> Rule | None:
    """The endpoint's rule, or None: an unlisted endpoint is denied to everyone."""
    if endpoint is None:
        return None
    return ENDPOINTS.get(endpoint)


def role_allowed(user, rule: Rule) -> bool:
    return bool(getattr(user, "is_active", False)) and Role(user.role) in rule.roles
