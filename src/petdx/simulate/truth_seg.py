"""The ground-truth lesion SEG of a simulated PET series (highdicom).

Kept small on purpose: it is the one place to switch to :func:`petdx.dicom.seg.write_seg`
once that accepts given UIDs and times (it draws them at random and from the clock today,
which would break reproducibility). Segment numbers are the lesion labels
(``lesions.label``); each segment's label is the lesion id and its tracking identifier
``lesion <label>`` (the convention :func:`petdx.dicom.seg.read_seg` maps back to labels);
malignant lesions are typed *Neoplasm*, benign ones
*Lesion* (both in the category *Morphologically Abnormal Structure*). Everything that
highdicom would draw from the clock or a random source (content, creation and contribution
date/time, the dimension organisation UID) is set from the acquisition and the seed, so the file is
reproducible.

References
----------
DICOM PS3.3 A.51 (Segmentation IOD), C.8.20 (Segmentation Image Module).
Herz C, et al. highdicom: a Python library for standardized encoding of image annotations
and machine learning model outputs in pathology and radiology. J Digit Imaging
2022;35:1719-1737. doi:10.1007/s10278-022-00683-y
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import highdicom as hd
import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes

from petdx import __version__
from petdx.simulate.lesions import LesionSpec

__all__ = ["write_truth_seg"]

_ALGORITHM_FAMILY = hd.sr.CodedConcept("SIM", "99PETDX", "Digital phantom ground truth")


def write_truth_seg(
    path: Path,
    source_images: Sequence[Dataset],
    labels: npt.NDArray[np.integer],
    lesions: Sequence[LesionSpec],
    *,
    series_uid: str,
    sop_uid: str,
    dimension_organization_uid: str,
    series_number: int,
    created: datetime,
) -> None:
    """Write a binary SEG with one segment per lesion, referencing ``source_images``.

    Parameters
    ----------
    path
        Output file.
    source_images
        The PET slices in volume (z) order, as written.
    labels
        Lesion label map on the PET grid (z, y, x); 0 is background.
    lesions
        The lesions; every label must have at least one voxel.
    series_uid, sop_uid, dimension_organization_uid
        UIDs of the SEG (derived from the seed by the caller).
    series_number
        SeriesNumber of the SEG.
    created
        Content and instance creation date/time.
    """
    algorithm = hd.AlgorithmIdentificationSequence(
        name="petdx simulate", family=_ALGORITHM_FAMILY, version=__version__
    )
    descriptions = []
    ordered = sorted(lesions, key=lambda lesion: lesion.label)
    for lesion in ordered:
        kind = codes.SCT.Neoplasm if lesion.malignant else codes.SCT.Lesion
        descriptions.append(
            hd.seg.SegmentDescription(
                segment_number=lesion.label,
                segment_label=lesion.lesion_id,
                segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
                segmented_property_type=kind,
                algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
                algorithm_identification=algorithm,
                tracking_uid=hd.UID.from_uuid(
                    str(uuid.uuid5(uuid.NAMESPACE_OID, f"{series_uid}/{lesion.lesion_id}"))
                ),
                tracking_id=f"lesion {lesion.label}",
            )
        )
    numbers = [lesion.label for lesion in ordered]
    if numbers != list(range(1, len(numbers) + 1)):
        raise ValueError(f"lesion labels must be 1..n in order; got {numbers}")
    seg = hd.seg.Segmentation(
        source_images=list(source_images),
        pixel_array=np.asarray(labels, dtype=np.uint16),
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=series_uid,
        series_number=series_number,
        sop_instance_uid=sop_uid,
        instance_number=1,
        manufacturer="petdx",
        manufacturer_model_name="petdx digital phantom",
        software_versions=f"petdx {__version__}",
        device_serial_number="SIMULATED",
        series_description="Ground truth lesions (simulation)",
        content_label="TRUTH",
        content_description="Simulated lesions, ground truth",
        content_creator_name="petdx^simulate",
    )
    _fix_clock_and_random(seg, created, dimension_organization_uid)
    seg.save_as(path, enforce_file_format=True)


def _fix_clock_and_random(seg: Dataset, created: datetime, dimension_uid: str) -> None:
    """Replace what highdicom took from the clock or generated at random."""
    day, time = created.strftime("%Y%m%d"), created.strftime("%H%M%S")
    seg.ContentDate = seg.InstanceCreationDate = seg.SeriesDate = day
    seg.ContentTime = seg.InstanceCreationTime = seg.SeriesTime = time
    for item in seg.get("DimensionOrganizationSequence", []):
        item.DimensionOrganizationUID = dimension_uid
    for item in seg.get("DimensionIndexSequence", []):
        item.DimensionOrganizationUID = dimension_uid
    for item in seg.get("ContributingEquipmentSequence", []):
        if "ContributionDateTime" in item:
            item.ContributionDateTime = created.strftime("%Y%m%d%H%M%S")
