"""The people of a study and what each may do: the roles of petdx's accounts.

A role names a job in the trial, not a permission level; what each role may read and write is
decided in one place per interface (the web application's policy table,
:mod:`petdx.web.policy`), and the study layer enforces the rules that hold whatever the
interface (only a data manager closes a query; a locked form takes no write).

References
----------
ICH E6(R3) Good Clinical Practice, 2025, section 3.16 (data and records) and Annex 1 4.2
(computerised systems: access by role). 21 CFR 11.10(d), (g): access limited to authorised
individuals, authority checks.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Role"]


class Role(StrEnum):
    """The role of a study account."""

    #: manages accounts and the study's settings; sees no patient data beyond pseudonyms
    ADMIN = "admin"
    #: study coordinator at a site: screens, enrols and records the patients of their site
    COORDINATOR = "coordinator"
    #: data manager or monitor: raises and closes queries, locks and unlocks forms
    DATA_MANAGER = "data_manager"
    #: principal or site investigator: e-signs a patient's locked forms
    INVESTIGATOR = "investigator"
    #: nuclear medicine physician reading images blinded to pathology and clinical data
    READER = "reader"
    #: statistician: locks snapshots, runs the pre-specified analyses, downloads exports
    STATISTICIAN = "statistician"
