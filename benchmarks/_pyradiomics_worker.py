"""Run by the bench environment's Python (``.venv-bench``, PyRadiomics 3.0.1): first-order
Maximum and Mean and shape VoxelVolume of every label of a label map, timed.

Usage: python _pyradiomics_worker.py IMAGE.npy LABELS.npy SPACING_X,Y,Z REPEAT
Prints one JSON object: {"seconds": [...], "features": {label: [max, mean, voxel_volume_mm3]}}.
"""

import json
import logging
import sys
import time

import numpy as np
import SimpleITK as sitk
from radiomics import featureextractor

logging.getLogger("radiomics").setLevel(logging.ERROR)


def main() -> None:
    image_path, labels_path, spacing, repeat = sys.argv[1:5]
    array = np.load(image_path)
    labels = np.load(labels_path)
    image = sitk.GetImageFromArray(array)
    mask = sitk.GetImageFromArray(labels.astype(np.uint16))
    for item in (image, mask):
        item.SetSpacing(tuple(float(v) for v in spacing.split(",")))
    extractor = featureextractor.RadiomicsFeatureExtractor(
        additionalInfo=False, force2D=False, correctMask=False
    )
    extractor.disableAllFeatures()
    extractor.enableFeaturesByName(firstorder=["Maximum", "Mean"], shape=["VoxelVolume"])
    present = [int(v) for v in np.unique(labels) if v > 0]
    seconds, features = [], {}
    for _ in range(int(repeat)):
        start = time.perf_counter()
        for label in present:
            result = extractor.execute(image, mask, label=label)
            features[label] = [
                float(result["original_firstorder_Maximum"]),
                float(result["original_firstorder_Mean"]),
                float(result["original_shape_VoxelVolume"]),
            ]
        seconds.append(time.perf_counter() - start)
    print(json.dumps({"seconds": seconds, "features": features}))


if __name__ == "__main__":
    main()
