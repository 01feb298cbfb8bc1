"""The study database: patients, eligibility, radiation dose, imaging, reads, reference
standard and follow-up, with an audit trail, blinding and de-identified image storage."""

__all__: list[str] = []
