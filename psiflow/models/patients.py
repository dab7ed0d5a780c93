"""Patients and the caseload they belong to."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.ext.compiler import compiles

from psiflow import access
from psiflow.domain.patient_safety import CurrentMedicine, current_medicines
from psiflow.extensions import db
from psiflow.models.types import UTCDateTime, utcnow
from psiflow.models.users import Clinic, User


class Patient(db.Model):
    __tablename__ = "patients"
    __table_args__ = (
        sa.UniqueConstraint("clinic_id", "record_number"),
        # A clinician's patients, real or practice, from the index alone: a supervisor's lists
        # start from a thousand team patients and read none of their rows to keep to one kind.
        # The id too, which PostgreSQL's indexes hold only when asked (SQLite's always do):
        # without it each team patient's row was read for its id.
        sa.Index("ix_patients_lead_clinician_practice", "lead_clinician_id", "is_practice", "id"),
        sa.Index("ix_patients_co_facilitator_practice", "co_facilitator_id", "is_practice", "id"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    clinic_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("clinics.id"), index=True)
    display_name: so.Mapped[str] = so.mapped_column(sa.String(120))
    date_of_birth: so.Mapped[date | None]
    record_number: so.Mapped[str] = so.mapped_column(sa.String(40))
    # Practice patients are fictional, for trainees; they never mix with real ones.
    is_practice: so.Mapped[bool] = so.mapped_column(default=False, index=True)
    lead_clinician_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    co_facilitator_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    created_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    # What the room needs at hand in an emergency, shown in the header of the patient page, the
    # live session page and every print; blank means "not recorded". Medicines one per line.
    phone: so.Mapped[str] = so.mapped_column(sa.String(40), default="", server_default="")
    allergies: so.Mapped[str] = so.mapped_column(sa.Text, default="", server_default="")
    current_medicines: so.Mapped[str] = so.mapped_column(sa.Text, default="", server_default="")
    emergency_contact_name: so.Mapped[str] = so.mapped_column(
        sa.String(120), default="", server_default=""
    )
    emergency_contact_relationship: so.Mapped[str] = so.mapped_column(
        sa.String(60), default="", server_default=""
    )
    emergency_contact_phone: so.Mapped[str] = so.mapped_column(
        sa.String(40), default="", server_default=""
    )
    # Optimistic locking: an edit of the details made on a stale page is refused, not applied.
    version: so.Mapped[int] = so.mapped_column(default=1, server_default=sa.text("1"))

    __mapper_args__ = {"version_id_col": version}

    clinic: so.Mapped[Clinic] = so.relationship()
    lead_clinician: so.Mapped[User] = so.relationship(foreign_keys=[lead_clinician_id])
    co_facilitator: so.Mapped[User | None] = so.relationship(foreign_keys=[co_facilitator_id])
    courses: so.Mapped[list[Course]] = so.relationship(  # noqa: F821
        back_populates="patient", order_by="Course.started_at"
    )

    def __repr__(self) -> str:
        return f"<Patient {self.id}>"

    @property
    def medicine_list(self) -> list[str]:
        return [line.strip() for line in self.current_medicines.splitlines() if line.strip()]

    def medicines_for(self, protocol) -> list[CurrentMedicine]:
        """The current medicines, each with what `protocol` (or none) says it interacts with."""
        classes = protocol.interacting_medicines if protocol is not None else ()
        return current_medicines(self.medicine_list, classes)

    @property
    def care_team_supervisor_ids(self) -> set[int]:
        team = (self.lead_clinician, self.co_facilitator)
        return {u.supervisor_id for u in team if u is not None and u.supervisor_id is not None}


def caseload_filter(user) -> sa.ColumnElement[bool]:
    """The SQL twin of `access.can(user, VIEW, patient)`, for lists and counts."""
    return _caseload(access.Role(user.role), user.is_active, user.id)


# A page that runs the same statement on every load builds it once per role, with the user's
# id left as this parameter (`caseload_params(user)` fills it): building and keying a large
# statement costs more than running it. Required, so a statement run without it fails.
CASELOAD_USER = sa.bindparam("caseload_user_id", type_=sa.Integer, required=True)


def caseload_rule(role: access.Role, active: bool = True) -> sa.ColumnElement[bool]:
    """`caseload_filter` for any user of this role, their id bound at execution."""
    return _caseload(role, active, CASELOAD_USER)


def team_patients(role: access.Role, active: bool = True, practice=None):
    """For a role that sees its supervisees' patients: the ids of the caseload's patients
    (any user of the role, `CASELOAD_USER` bound at execution), found through the two
    clinician indexes from the team's members: those led or co-facilitated by the user or a
    supervisee, of the kinds the role sees. The same patients as `caseload_rule` (tested), in
    the shape a list starts from: the rule's four OR'ed terms are asked of a patient's row,
    these find the rows. `practice` (a SQL boolean or parameter) keeps to practice or to real
    patients, asked of the indexes too, which hold it: no patient's row is read. None for
    any other role. The one team-patient query: the boards, the due-after-dosing list and the
    supervisor's outcome table use it."""
    if not access.sees_supervisees_patients(role):
        return None
    if not active:
        return sa.select(Patient.id).where(sa.false())
    members = team_members()
    found = Patient.__table__.alias("team_patients")
    of_kind = kinds_seen(role, found.c.is_practice)
    if practice is not None:
        of_kind.append(found.c.is_practice == practice)
    return sa.union_all(
        sa.select(found.c.id).where(one_of(found.c.lead_clinician_id, members), *of_kind),
        sa.select(found.c.id).where(one_of(found.c.co_facilitator_id, members), *of_kind),
    )


def team_members():
    """The ids of the caseload user (`CASELOAD_USER`) and their supervisees, as a subquery
    for `one_of`: whose patients a supervisor's caseload holds."""
    return (
        sa.select(User.id)
        .where(sa.or_(User.id == CASELOAD_USER, User.supervisor_id == CASELOAD_USER))
        .scalar_subquery()
        .correlate(None)
    )


def caseload_patients(role: access.Role, active: bool = True, practice=None):
    """The ids of the caseload's patients, for a statement that lists them or their courses
    (`practice` as for `team_patients`): for a supervisor the team's, found from its members,
    so the database starts from a thousand team patients, not the network's, and asks no rule
    of each; for anyone else by the rule, which their two clinician indexes already serve."""
    team = team_patients(role, active, practice)
    if team is not None:
        return team
    conditions = [caseload_rule(role, active)]
    if practice is not None:
        conditions.append(Patient.is_practice == practice)
    return sa.select(Patient.id).where(*conditions)


class one_of(sa.sql.functions.FunctionElement):
    """`column IN (subquery)`, for a subquery of a few ids (a team's members) and a column
    with an index. PostgreSQL is given it as `column = ANY(ARRAY(subquery))`: the ids are
    found first and the index is searched for each, where for `IN (subquery)` its planner
    read every patient of the network and hash-joined them to the team (10,000 rows twice
    on each team statement, ~5 ms, against ~0.6 ms). SQLite already starts from the index."""

    name = "one_of"
    type = sa.Boolean()
    inherit_cache = True  # its cache key is its two clauses', as any function's
    # A comparison already, as `IN` is: without this SQLite (no native boolean) was given
    # `... IN (subquery) = 1`, which it answers by scanning the whole clinician index (10,000
    # entries per team term; the supervisor's board spent 13 ms more in SQL).
    _is_implicitly_boolean = True


@compiles(one_of)
def _one_of(element, compiler, **kw):
    column, ids = element.clauses.clauses
    return f"{compiler.process(column, **kw)} IN {compiler.process(ids, **kw)}"


@compiles(one_of, "postgresql")
def _one_of_postgresql(element, compiler, **kw):
    column, ids = element.clauses.clauses
    return f"{compiler.process(column, **kw)} = ANY(ARRAY{compiler.process(ids, **kw)})"


def caseload_params(user) -> dict:
    return {CASELOAD_USER.key: user.id}


def caseload_key(user) -> tuple[access.Role, bool]:
    """What a statement built with `caseload_rule` depends on: cache it under this key."""
    return access.Role(user.role), bool(user.is_active)


def _caseload(role: access.Role, active: bool, user_id) -> sa.ColumnElement[bool]:
    if not active or role == access.Role.ADMIN:
        return sa.false()
    scope = [Patient.lead_clinician_id == user_id, Patient.co_facilitator_id == user_id]
    if access.sees_supervisees_patients(role):
        team = (
            sa.select(User.id)
            .where(User.supervisor_id == user_id)
            .scalar_subquery()
            .correlate(None)
        )
        scope += [one_of(Patient.lead_clinician_id, team), one_of(Patient.co_facilitator_id, team)]
    return sa.and_(sa.or_(*scope), *kinds_seen(role, Patient.is_practice))


def kinds_seen(role: access.Role, is_practice) -> list[sa.ColumnElement[bool]]:
    """The condition that keeps to real patients, or to practice patients, as the role sees
    them; none for a role that sees both, so a team's patients are found from the clinician
    indexes without reading their rows."""
    real, practice = access.sees_real_patients(role), access.sees_practice_patients(role)
    if real and practice:
        return []
    if real:
        return [is_practice.is_(False)]
    if practice:
        return [is_practice.is_(True)]
    return [sa.false()]
