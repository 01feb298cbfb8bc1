"""Build pydicom datasets from the cornerstone calculate-suv header vectors.

The files in ``../shared/data/cornerstone-suv-vectors`` hold the SUV-relevant header fields of
real Siemens, GE and Philips series as keyword JSON (cornerstonejs/calculate-suv,
test/metadata, MIT licence). They are turned into DICOM JSON model documents and read with
:meth:`pydicom.Dataset.from_json`, so the datasets are built by pydicom, not by petdx.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydicom import Dataset
from pydicom.datadict import dictionary_VR, tag_for_keyword

_RADIOPHARM_KEYWORDS = {
    "RadionuclideTotalDose",
    "RadionuclideHalfLife",
    "RadiopharmaceuticalStartTime",
    "RadiopharmaceuticalStartDateTime",
}
_PHILIPS = {"SUVScaleFactor": "70531000", "ActivityConcentrationScaleFactor": "70531009"}


def _element(keyword: str, value: Any) -> tuple[str, dict[str, Any]]:
    tag = tag_for_keyword(keyword)
    assert tag is not None, keyword
    vr = dictionary_VR(tag)
    values = value if isinstance(value, list) else [value]
    if vr in {"DS", "IS"}:
        values = [str(v).strip() if isinstance(v, str) else v for v in values]
    return f"{tag:08X}", {"vr": vr, "Value": values}


def dataset_from_vector(fields: dict[str, Any]) -> Dataset:
    """One instance of a vector file as a pydicom Dataset built by ``Dataset.from_json``."""
    document: dict[str, Any] = {}
    radiopharm: dict[str, Any] = {}
    for keyword, value in fields.items():
        if keyword == "PhilipsPETPrivateGroup":
            if value:
                document["70530010"] = {"vr": "LO", "Value": ["Philips PET Private Group"]}
            for name, tag in _PHILIPS.items():
                if name in value:
                    document[tag] = {"vr": "DS", "Value": [str(value[name]).strip()]}
            continue
        tag, element = _element(keyword, value)
        (radiopharm if keyword in _RADIOPHARM_KEYWORDS else document)[tag] = element
    document["00540016"] = {"vr": "SQ", "Value": [radiopharm]}
    for keyword, value in (
        ("SeriesInstanceUID", "1.2.3.4"),
        ("Modality", "PT"),
        ("Manufacturer", "from cornerstone vector"),
    ):
        tag, element = _element(keyword, value)
        document.setdefault(tag, element)
    return Dataset.from_json(json.dumps(document))


def load_vector(path: Path) -> list[Dataset]:
    return [dataset_from_vector(instance) for instance in json.loads(path.read_text())]
