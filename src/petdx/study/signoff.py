"""Lock and sign: a data manager locks a patient's forms, an investigator e-signs them.

:func:`lock_patient` (data manager) freezes every form of the patient: any save, completion
or enrolment is then refused (:func:`petdx.study.forms.refuse_if_locked`).
:func:`sign_patient` (investigator) signs the locked forms; the caller must have verified the
signer's password again just before (21 CFR 11.200(a): a signature by two components, the
account and its password) and says so with ``password_verified=True`` (the web application
checks it through the accounts of the study). :func:`unlock_patient` (data manager, with a
reason) removes the lock and thereby voids the signature; the audit trail keeps both. Every
action is an audited record (table ``patient_locks``).

References
----------
21 CFR 11.50 (signature manifestations: name, date and time, meaning), 11.200(a).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from petdx.errors import InputValidationError
from petdx.study.forms import AccessRefused, now_utc
from petdx.study.records import Author, delete_record, get_record, insert_record, update_record
from petdx.study.roles import Role

__all__ = [
    "SIGNATURE_MEANING",
    "LockState",
    "lock_patient",
    "lock_state",
    "sign_patient",
    "unlock_patient",
]

#: What the investigator's signature means (shown on the sign page and stored with it).
SIGNATURE_MEANING = (
    "I have reviewed this patient's data and confirm they are complete and accurate."
)


@dataclass(frozen=True)
class LockState:
    """A patient's lock and signature."""

    patient_id: str
    locked_by: str
    locked_at_utc: str
    signed_by: str | None
    signed_at_utc: str | None
    signature_meaning: str | None

    @property
    def signed(self) -> bool:
        return self.signed_by is not None


def lock_state(connection: Connection, patient_id: str) -> LockState | None:
    """The patient's lock (and signature), or None when unlocked."""
    row = get_record(connection, "patient_locks", {"patient_id": patient_id})
    if row is None:
        return None
    return LockState(**{k: row[k] for k in LockState.__dataclass_fields__})


def _need(role: Role, wanted: Role, what: str) -> None:
    if Role(role) is not wanted:
        raise AccessRefused(
            f"only a {wanted.value.replace('_', ' ')} may {what} (this account is a "
            f"{Role(role).value})."
        )


def lock_patient(connection: Connection, patient_id: str, *, actor: str, role: Role) -> None:
    """Lock the patient's forms (data manager)."""
    _need(role, Role.DATA_MANAGER, "lock a patient's forms")
    if get_record(connection, "patients", {"patient_id": patient_id}) is None:
        raise InputValidationError(f"patient {patient_id}: not in the study.")
    if lock_state(connection, patient_id) is not None:
        raise InputValidationError(f"patient {patient_id}'s forms are already locked.")
    insert_record(
        connection,
        "patient_locks",
        {"patient_id": patient_id, "locked_by": actor, "locked_at_utc": now_utc()},
        author=Author(actor, "forms locked"),
    )


def unlock_patient(
    connection: Connection, patient_id: str, reason: str, *, actor: str, role: Role
) -> bool:
    """Unlock the patient's forms (data manager, with a reason); a signature is voided.
    Returns whether a signature was voided."""
    _need(role, Role.DATA_MANAGER, "unlock a patient's forms")
    state = lock_state(connection, patient_id)
    if state is None:
        raise InputValidationError(f"patient {patient_id}'s forms are not locked.")
    if not reason.strip():
        raise InputValidationError("unlocking needs a reason for the audit trail.")
    why = f"forms unlocked: {reason.strip()}"
    if state.signed:
        why += " (the investigator's signature is void)"
    delete_record(
        connection, "patient_locks", {"patient_id": patient_id}, author=Author(actor, why)
    )
    return state.signed


def sign_patient(
    connection: Connection,
    patient_id: str,
    *,
    actor: str,
    role: Role,
    password_verified: bool,
) -> None:
    """The investigator e-signs the patient's locked forms.

    Parameters
    ----------
    password_verified
        The caller checked the signer's password again for this signature.

    Raises
    ------
    AccessRefused
        Not an investigator, or the password was not verified again.
    InputValidationError
        The forms are not locked, or already signed.
    """
    _need(role, Role.INVESTIGATOR, "sign a patient's forms")
    if not password_verified:
        raise AccessRefused("an e-signature needs the signer's password entered again.")
    state = lock_state(connection, patient_id)
    if state is None:
        raise InputValidationError(
            f"patient {patient_id}'s forms are not locked; a data manager locks them first."
        )
    if state.signed:
        raise InputValidationError(
            f"patient {patient_id}'s forms were already signed by {state.signed_by}."
        )
    update_record(
        connection,
        "patient_locks",
        {"patient_id": patient_id},
        {
            "signed_by": actor,
            "signed_at_utc": now_utc(),
            "signature_meaning": SIGNATURE_MEANING,
        },
        author=Author(actor, f"e-signature: {SIGNATURE_MEANING}"),
    )
