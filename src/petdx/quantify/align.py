"""Rigid alignment of two PET scans of one visit (same frame of reference, patient moved).

The transform is estimated from the images with SimpleITK's registration framework: a rigid
(Euler 3-D) or translation transform, Mattes mutual information (robust to the global uptake
change between time points), regular-step gradient descent, three resolution levels
(shrink 4, 2, 1; smoothing 2, 1, 0 voxels), a seeded random 20 % sample of voxels.

:class:`RigidTransform` maps points of the **later** scan (moving) to the **earlier** scan
(fixed), in LPS mm: ``p_fixed = R p_moving + t``.

References
----------
Lowekamp BC, Chen DT, Ibáñez L, Blezek D. The design of SimpleITK. Front Neuroinform
2013;7:45. doi:10.3389/fninf.2013.00045
Mattes D, et al. PET-CT image registration in the chest using free-form deformations. IEEE
Trans Med Imaging 2003;22:120-128. doi:10.1109/TMI.2003.809072
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import SimpleITK as sitk

from petdx.errors import Hint, InputValidationError
from petdx.image import Volume
from petdx.image.sitk_bridge import to_sitk

__all__ = ["RigidTransform", "estimate_rigid_transform", "resample_labels", "to_sitk"]

_SHRINK_FACTORS = (4, 2, 1)
#: Metric samples per resolution level, at most (see estimate_rigid_transform).
_MAX_SAMPLES = 100_000


@dataclass(frozen=True)
class RigidTransform:
    """``p_fixed = rotation @ p_moving + translation_mm`` (LPS mm)."""

    rotation: npt.NDArray[np.float64] = field(repr=False)
    translation_mm: tuple[float, float, float]
    metric_value: float | None = None
    method: str = "identity"

    @classmethod
    def identity(cls) -> RigidTransform:
        return cls(np.eye(3), (0.0, 0.0, 0.0))

    @property
    def rotation_deg(self) -> float:
        """Total rotation angle in degrees."""
        cos = (np.trace(self.rotation) - 1.0) / 2.0
        return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))

    def apply(self, points_mm: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Map moving-scan points ``(..., 3)`` to fixed-scan coordinates."""
        pts = np.asarray(points_mm, dtype=np.float64)
        return pts @ self.rotation.T + np.asarray(self.translation_mm)

    def inverse(self) -> RigidTransform:
        rot = self.rotation.T
        t = -(rot @ np.asarray(self.translation_mm))
        return RigidTransform(
            rot, (float(t[0]), float(t[1]), float(t[2])), self.metric_value, self.method
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "translation_mm": list(self.translation_mm),
            "rotation_deg": self.rotation_deg,
            "rotation_matrix": self.rotation.tolist(),
            "metric_value": self.metric_value,
        }

    def __str__(self) -> str:
        t = ", ".join(f"{v:.2f}" for v in self.translation_mm)
        return f"{self.method}: translation ({t}) mm, rotation {self.rotation_deg:.2f} deg"


def estimate_rigid_transform(
    fixed: Volume,
    moving: Volume,
    *,
    translation_only: bool = False,
    seed: int = 20240601,
) -> RigidTransform:
    """Estimate the rigid motion between two scans (see the module docstring).

    Parameters
    ----------
    fixed
        The earlier scan (SUV).
    moving
        The later scan (SUV), on its own grid.
    translation_only
        Estimate a translation only (3 parameters) instead of a rigid transform (6).
    seed
        Seed of the metric's random voxel sample (results are reproducible).

    Returns
    -------
    RigidTransform
        Mapping later-scan points to earlier-scan points.
    """
    fixed_image, moving_image = to_sitk(fixed), to_sitk(moving)
    reg = sitk.ImageRegistrationMethod()
    reg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=32)
    reg.SetMetricSamplingStrategy(reg.RANDOM)
    # 20 % of the voxels, but at most _MAX_SAMPLES per level: whole-body scans have millions
    # of voxels and a rigid fit needs far fewer samples (cost grows with the sample count).
    n_voxels = float(np.prod(fixed.shape))
    reg.SetMetricSamplingPercentagePerLevel(
        [min(0.2, _MAX_SAMPLES * shrink**3 / n_voxels) for shrink in _SHRINK_FACTORS], seed
    )
    # Gradients at the sampled points only: precomputing gradient images of whole-body
    # volumes costs more than the optimisation itself (same result, half the time).
    reg.SetMetricUseFixedImageGradientFilter(False)
    reg.SetMetricUseMovingImageGradientFilter(False)
    reg.SetInterpolator(sitk.sitkLinear)
    reg.SetOptimizerAsRegularStepGradientDescent(
        learningRate=4.0, minStep=0.01, numberOfIterations=200, relaxationFactor=0.5
    )
    reg.SetOptimizerScalesFromPhysicalShift()
    reg.SetShrinkFactorsPerLevel(list(_SHRINK_FACTORS))
    reg.SetSmoothingSigmasPerLevel([2, 1, 0])
    reg.SmoothingSigmasAreSpecifiedInPhysicalUnitsOff()
    if translation_only:
        initial: sitk.Transform = sitk.TranslationTransform(3)
    else:
        initial = sitk.CenteredTransformInitializer(
            fixed_image,
            moving_image,
            sitk.Euler3DTransform(),
            sitk.CenteredTransformInitializerFilter.GEOMETRY,
        )
        # Same frame of reference: start from no motion, only the rotation centre is set.
        euler = sitk.Euler3DTransform(initial)
        euler.SetTranslation((0.0, 0.0, 0.0))
        initial = euler
    reg.SetInitialTransform(initial, inPlace=False)
    # One thread: multi-threaded sums (metric, pyramid) differ in the last bits from run to
    # run, and a study must give the same numbers every time it is run.
    threads = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
    try:
        result = reg.Execute(fixed_image, moving_image)
    except RuntimeError as exc:
        raise InputValidationError(
            f"Rigid alignment of the two scans failed ({exc}). Check that both scans cover "
            "the same body region, or match lesions without alignment (align off).",
            hint=Hint("align"),
        ) from exc
    finally:
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(threads)
    # SimpleITK's transform maps fixed-space points to moving space: p_m = A p_f + b.
    composite = sitk.CompositeTransform(result)
    flat = composite.GetNthTransform(composite.GetNumberOfTransforms() - 1)
    if translation_only:
        a = np.eye(3)
        b = np.asarray(sitk.TranslationTransform(flat).GetOffset())
        method = "translation (SimpleITK, Mattes MI)"
    else:
        euler = sitk.Euler3DTransform(flat)
        a = np.asarray(euler.GetMatrix()).reshape(3, 3)
        centre = np.asarray(euler.GetCenter())
        b = np.asarray(euler.GetTranslation()) + centre - a @ centre
        method = "rigid (SimpleITK Euler3D, Mattes MI)"
    forward = RigidTransform(a, (float(b[0]), float(b[1]), float(b[2])), None, method)
    back = forward.inverse()
    return RigidTransform(back.rotation, back.translation_mm, reg.GetMetricValue(), method)


def resample_labels(labels: Volume, target: Volume, transform: RigidTransform) -> Volume:
    """Carry a label map of the fixed (earlier) scan onto the moving (later) scan's grid,
    nearest neighbour, through ``transform`` (moving -> fixed)."""
    resampler = sitk.ResampleImageFilter()
    resampler.SetReferenceImage(to_sitk(target))
    resampler.SetInterpolator(sitk.sitkNearestNeighbor)
    affine = sitk.AffineTransform(3)
    affine.SetMatrix(tuple(float(v) for v in transform.rotation.ravel()))
    affine.SetTranslation(transform.translation_mm)
    resampler.SetTransform(affine)
    resampler.SetDefaultPixelValue(0)
    image = to_sitk(labels, np.uint32)
    out = sitk.GetArrayFromImage(resampler.Execute(image))
    return target.with_array(out.astype(np.uint32))
