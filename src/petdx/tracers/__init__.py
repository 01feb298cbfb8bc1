"""Tracer profiles: nuclide, activity rule, time points, dosimetry, organ and lesion uptake.

Shipped profiles: ``ga68-dota-blp`` (the trial tracer; assumed values from analogue PD-L1
tracers, cited in the file) and ``f18-fdg`` (the comparator). Load one with
:func:`load_tracer_profile`::

    from petdx.tracers import load_tracer_profile

    profile = load_tracer_profile("ga68-dota-blp")
    profile.effective_dose_msv_per_mbq      # 0.021 (assumed; see profile.dosimetry_source)
    profile.organ_suv("liver", 60)          # mean SUVbw of the liver at 60 min
"""

from petdx.tracers.profile import (
    ORGANS,
    LesionClass,
    LesionClassProfile,
    OrganUptake,
    SourceReference,
    TracerProfile,
    available_tracers,
    load_tracer_profile,
)

__all__ = [
    "ORGANS",
    "LesionClass",
    "LesionClassProfile",
    "OrganUptake",
    "SourceReference",
    "TracerProfile",
    "available_tracers",
    "load_tracer_profile",
]
