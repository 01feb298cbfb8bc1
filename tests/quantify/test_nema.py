"""The EARL check of a NEMA IEC body phantom (petdx.quantify.nema, ``petdx nema analyse``).

Expectations are computed here, not by the code under test:

* a noiseless phantom (the simulator's analytic activity, 2 mm voxels) blurred by a known
  Gaussian PSF with scipy: RCmax from the closed-form value of a Gaussian-blurred uniform
  ball at the voxel centre nearest the sphere centre (background b, sphere s:
  ``b + (s - b) u(d)``), RC A50 and RCpeak by brute force on the blurred image with the
  true centres and background;
* sphere finding under a shifted, rotated, tilted and mirrored phantom: the true centres
  moved by the same transform;
* the simulate-nema output analysed from the command line reproduces the recovery table of
  docs/simulate.md (computed there by tests/simulate/test_nema.py's own code).
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from scipy import ndimage
from scipy.special import erf
from typer.testing import CliRunner

from petdx.cli.app import app
from petdx.errors import InputValidationError
from petdx.image import Volume
from petdx.quantify import nema
from petdx.quantify.nema import NemaTruth, analyse_nema, find_spheres, truth_from_rows
from petdx.simulate.nema_phantom import nema_activity, nema_spheres
from petdx.simulate.shapes import Grid

VOXEL = 2.0
FWHM = 7.0
SIGMA = FWHM / (2 * math.sqrt(2 * math.log(2)))
B = 2000.0
S = 8000.0


@cache
def _phantom() -> tuple[Grid, npt.NDArray[np.float64]]:
    """Noiseless 4:1 phantom, 2 mm voxels, slices -30..30 mm (the sphere plane on z = 0),
    blurred by a Gaussian of 7 mm FWHM."""
    grid = Grid.centred((31, 160, 160), (VOXEL,) * 3, z_first_mm=-30.0)
    activity, _ = nema_activity(grid, background_bq_ml=B, sphere_to_background=S / B, supersample=3)
    return grid, ndimage.gaussian_filter(activity, SIGMA / VOXEL, mode="nearest")


def _ball_blur(r: float, d: float, sigma: float) -> float:
    """Value at distance d from the centre of a uniform unit ball of radius r convolved with
    an isotropic Gaussian of SD sigma (closed form)."""
    a, c = (r - d) / (sigma * math.sqrt(2)), (r + d) / (sigma * math.sqrt(2))
    if d < 1e-9:
        return float(
            erf(r / (sigma * math.sqrt(2)))
            - math.sqrt(2 / math.pi) * r / sigma * math.exp(-(r**2) / (2 * sigma**2))
        )
    tail = sigma / (d * math.sqrt(2 * math.pi)) * (math.exp(-(a**2)) - math.exp(-(c**2)))
    return float(0.5 * (erf(a) + erf(c)) - tail)


def _voxel_centres(grid: Grid) -> npt.NDArray[np.float64]:
    z, y, x = (grid.axis_mm(a) for a in range(3))
    zz, yy, xx = np.meshgrid(z, y, x, indexing="ij")
    return np.stack([xx, yy, zz], axis=-1)


def test_noiseless_recovery_matches_independent_expectations() -> None:
    grid, image = _phantom()
    result = analyse_nema(grid.volume(image.astype(np.float32)), NemaTruth(sphere=S, background=B))
    assert result.background_measured == pytest.approx(B, rel=1e-3)
    points = _voxel_centres(grid)
    # The voxel box adds h^2/12 to the PSF variance (a 2 mm voxel averages its fraction).
    sigma_eff = math.sqrt(SIGMA**2 + VOXEL**2 / 12)
    for sphere, found in zip(nema_spheres(), result.spheres, strict=True):
        assert found.diameter_mm == sphere.diameter_mm
        r = sphere.diameter_mm / 2
        distance = np.linalg.norm(points - np.asarray(sphere.centre_mm), axis=-1)
        nearest = float(distance.min())
        expected_max = (B + (S - B) * _ball_blur(r, nearest, sigma_eff)) / S
        assert found.rc["max"] == pytest.approx(expected_max, abs=0.01), sphere.diameter_mm
        # A50 by brute force: threshold at B + 0.5 (max - B), connected to the maximum.
        near = distance <= r + 5
        peak_index = np.unravel_index(np.argmax(np.where(near, image, -np.inf)), image.shape)
        top = float(image[peak_index])
        parts, _ = ndimage.label((distance <= r + 8) & (image >= B + 0.5 * (top - B)))
        expected_mean = float(image[parts == parts[peak_index]].mean()) / S
        assert found.rc["mean"] == pytest.approx(expected_mean, abs=0.005), sphere.diameter_mm
        # RCpeak: highest 1 ml ball mean over centres within the sphere, brute force.
        box = distance <= r + 7.0
        local_points, local_values = points[box], image[box]
        best = -math.inf
        for centre in points[distance <= r]:
            ball = np.linalg.norm(local_points - centre, axis=-1) <= 6.2035
            best = max(best, float(local_values[ball].mean()))
        assert found.rc["peak"] == pytest.approx(best / S, abs=0.002), sphere.diameter_mm
    # Partial volume: recovery grows with size; the largest sphere recovers (nearly) fully.
    maxima = [s.rc["max"] for s in result.spheres]
    assert maxima == sorted(maxima)
    assert maxima[-1] > 0.98


def _transformed(
    angle_deg: float, tilt_deg: float, shift_xyz: tuple[float, float, float], mirror: bool
) -> tuple[Volume, dict[int, npt.NDArray[np.float64]]]:
    """The blurred phantom rotated about z, tilted about x, shifted (and mirrored in x),
    with the true centres moved by the same map."""
    grid, image = _phantom()
    a, t = math.radians(angle_deg), math.radians(tilt_deg)
    rot_z = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    rot_x = np.array([[1, 0, 0], [0, math.cos(t), -math.sin(t)], [0, math.sin(t), math.cos(t)]])
    forward = rot_x @ rot_z @ np.diag([-1.0 if mirror else 1.0, 1.0, 1.0])  # on (x, y, z)
    shift = np.asarray(shift_xyz)
    swap = np.array([[0, 0, 1], [0, 1, 0], [1, 0, 0]])  # (x, y, z) <-> (z, y, x)
    f_zyx = swap @ forward @ swap
    inverse = np.linalg.inv(f_zyx)
    origin = np.array([grid.origin_mm[2], grid.origin_mm[1], grid.origin_mm[0]])
    offset = (inverse @ (origin - swap @ shift) - origin) / VOXEL
    moved = ndimage.affine_transform(image, inverse, offset=offset, order=1, mode="nearest")
    centres = {s.number: forward @ np.asarray(s.centre_mm) + shift for s in nema_spheres()}
    return grid.volume(moved.astype(np.float32)), centres


@pytest.mark.parametrize(
    ("angle", "tilt", "shift", "mirror"),
    [
        (25.0, 0.0, (7.0, -12.0, 3.0), False),
        (-140.0, 4.0, (-15.0, 9.0, -5.0), False),
        (70.0, 2.0, (4.0, 4.0, 0.0), True),
    ],
)
def test_spheres_found_on_a_moved_phantom(
    angle: float, tilt: float, shift: tuple[float, float, float], mirror: bool
) -> None:
    volume, centres = _transformed(angle, tilt, shift, mirror)
    ring = find_spheres(volume)
    assert ring.mirrored is mirror
    for sphere in ring.spheres:
        error = float(np.linalg.norm(np.asarray(sphere.centre_mm) - centres[sphere.number]))
        assert error < 1.5, f"sphere {sphere.number}: {error:.2f} mm off"


def test_a_phantom_without_hot_spheres_is_refused() -> None:
    grid, _ = _phantom()
    activity, _ = nema_activity(grid, background_bq_ml=B, sphere_to_background=1.0, supersample=1)
    with pytest.raises(InputValidationError, match=r"^Found 0 hot sphere\(s\) of the six"):
        find_spheres(grid.volume(ndimage.gaussian_filter(activity, 1.5)))


def test_a_hot_blob_off_the_ring_is_refused() -> None:
    grid, image = _phantom()
    hot = image.copy()
    centres = _voxel_centres(grid)
    for x, y, level in ((0.0, 100.0, 9000.0), (-100.0, -40.0, 8000.0), (100.0, -40.0, 7000.0)):
        hot[np.linalg.norm(centres - np.array([x, y, 0.0]), axis=-1) <= 15] = level
    hot[image > 1.2 * B] = B
    with pytest.raises(InputValidationError, match="do not lie on the NEMA ring"):
        find_spheres(grid.volume(hot))


def test_truth_is_required_and_checked() -> None:
    with pytest.raises(InputValidationError, match="sphere activity concentration is missing"):
        NemaTruth()
    with pytest.raises(InputValidationError, match=r"ratio 0\.5: the spheres must be hotter"):
        NemaTruth(ratio=0.5)
    with pytest.raises(InputValidationError, match=r"spheres\.csv row 2: missing sphere_bq_ml"):
        truth_from_rows(
            [
                {
                    "sphere": "1",
                    "background_bq_ml": "2000",
                    "centre_x_mm": "0",
                    "centre_y_mm": "0",
                    "centre_z_mm": "0",
                }
            ],
            "spheres.csv",
        )


# EARL limits as published (transcribed here from the publications, independently of the
# module): EARL1 from Boellaard et al. 2015 (doi:10.1007/s00259-014-2961-x), the NEMA IEC
# recovery table (RCmax, RCmean A50); EARL2 from Kaalep et al. 2018 EJNMMI Phys 5:26
# (doi:10.1186/s40658-018-0235-0), the proposed EARL specifications (RCmax, RCmean, RCpeak).
# Order: 37, 28, 22, 17, 13, 10 mm as in the publications' tables.
PUBLISHED = {
    ("EARL1", "max"): "0.95-1.16 0.91-1.13 0.83-1.09 0.73-1.01 0.59-0.85 0.34-0.57",
    ("EARL1", "mean"): "0.76-0.89 0.72-0.85 0.63-0.78 0.57-0.73 0.44-0.60 0.27-0.43",
    ("EARL2", "max"): "1.05-1.29 1.01-1.26 1.01-1.32 1.00-1.38 0.85-1.22 0.52-0.88",
    ("EARL2", "mean"): "0.85-1.00 0.82-0.97 0.80-0.99 0.76-0.97 0.63-0.86 0.39-0.61",
    ("EARL2", "peak"): "0.99-1.07 0.95-1.07 0.90-1.09 0.75-0.99 0.45-0.60 0.27-0.38",
}


def test_limits_are_the_published_ones() -> None:
    standards = {s.name: s for s in nema.EARL_STANDARDS}
    for (name, metric), text in PUBLISHED.items():
        ranges = [tuple(float(v) for v in part.split("-")) for part in text.split()]
        table = standards[name].limits[metric]
        assert [table[d] for d in (37, 28, 22, 17, 13, 10)] == ranges, (name, metric)
    assert "peak" not in standards["EARL1"].limits  # EARL1 sets no RCpeak limits
    assert nema.EARL1.check("peak", 10, 0.1) is None
    assert nema.EARL2.check("max", 37, 1.05) is True
    assert nema.EARL2.check("max", 37, 1.04) is False


# docs/simulate.md, table "18F, 4:1" (RCmax / RC A50), seed 1.
DOCS_RECOVERY = {
    10: (0.48, 0.42),
    13: (0.64, 0.52),
    17: (0.79, 0.62),
    22: (0.93, 0.73),
    28: (1.00, 0.80),
    37: (1.01, 0.84),
}


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """petdx simulate-nema output (defaults, seed 1), made through the command line."""
    out = tmp_path_factory.mktemp("sim") / "nema"
    made = CliRunner().invoke(app, ["simulate-nema", str(out)])
    assert made.exit_code == 0, made.output
    assert f"petdx nema analyse {out / 'dicom'} --truth {out / 'spheres.csv'}" in made.stderr
    return out


def test_cli_on_simulate_nema_reproduces_the_documented_recovery(
    tmp_path: Path, simulated: Path
) -> None:
    runner = CliRunner()
    out = simulated
    plot = tmp_path / "rc.png"
    done = runner.invoke(
        app,
        [
            "nema",
            "analyse",
            str(out / "dicom"),
            "--truth",
            str(out / "spheres.csv"),
            "--json",
            "--plot",
            str(plot),
        ],
    )
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    for sphere in result["spheres"]:
        rc_max, rc_a50 = DOCS_RECOVERY[round(sphere["diameter_mm"])]
        assert sphere["rc_max"] == pytest.approx(rc_max, abs=0.006)
        assert sphere["rc_mean_a50"] == pytest.approx(rc_a50, abs=0.006)
        assert sphere["distance_to_truth_mm"] < 1.0
    assert result["passes"] == {"EARL1": True, "EARL2": False}
    assert "EARL1 pass, EARL2 FAIL" in done.stderr
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The same series, required to meet EARL2: exit status 1 (the phantom fails it).
    strict = runner.invoke(
        app,
        [
            "nema",
            "analyse",
            str(out / "dicom"),
            "--sphere-kbq-ml",
            "8",
            "--background-kbq-ml",
            "2",
            "--require",
            "earl2",
        ],
    )
    assert strict.exit_code == 1, strict.output
    assert "RCmean A50" in strict.stdout
    # The ratio alone: the background is measured (within 1 % of the 2 kBq/ml filled).
    ratio = runner.invoke(
        app, ["nema", "analyse", str(out / "dicom"), "--sphere-to-background", "4", "--json"]
    )
    assert ratio.exit_code == 0, ratio.output
    assert json.loads(ratio.stdout)["background_measured"] == pytest.approx(2000, rel=0.01)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sphere-to-background", "4"], "0 PET series"),
        ([], "Give the filling once"),
        (["--sphere-kbq-ml", "8", "--truth", "x.csv"], "Give the filling once"),
        (["--sphere-to-background", "4", "--require", "most"], "--require 'most'"),
    ],
)
def test_cli_bad_input_exits_2(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "notes.txt").write_text("not DICOM")
    done = CliRunner().invoke(app, ["nema", "analyse", str(tmp_path), *args])
    assert done.exit_code == 2, done.output
    assert message in done.stderr


def _copy_series(source: Path, target: Path, **changes: object) -> Path:
    import pydicom

    target.mkdir(parents=True)
    for path in sorted(source.glob("*.dcm")):
        dataset = pydicom.dcmread(path)
        for keyword, value in changes.items():
            setattr(dataset, keyword, value)
        dataset.save_as(target / path.name)
    return target


def test_cli_units_other_than_bqml_need_the_ratio(tmp_path: Path, simulated: Path) -> None:
    """An image not in Bq/ml (Units GML): kBq/ml is refused, the ratio alone is measured."""
    folder = _copy_series(simulated / "dicom" / "PT", tmp_path / "gml", Units="GML")
    runner = CliRunner()
    refused = runner.invoke(app, ["nema", "analyse", str(folder), "--sphere-kbq-ml", "8"])
    assert refused.exit_code == 2, refused.output
    assert "Units GML (0054,1001), not BQML" in refused.stderr
    done = runner.invoke(
        app, ["nema", "analyse", str(folder), "--sphere-to-background", "4", "--json"]
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["units"] == "GML"


def test_cli_several_pet_series_need_series(tmp_path: Path, simulated: Path) -> None:
    from pydicom.uid import generate_uid

    _copy_series(simulated / "dicom" / "PT", tmp_path / "a")
    other = generate_uid()
    _copy_series(simulated / "dicom" / "PT", tmp_path / "b", SeriesInstanceUID=other)
    runner = CliRunner()
    refused = runner.invoke(app, ["nema", "analyse", str(tmp_path), "--sphere-to-background", "4"])
    assert refused.exit_code == 2, refused.output
    assert "2 PET series" in refused.stderr
    assert "--series" in refused.stderr
    chosen = runner.invoke(
        app, ["nema", "analyse", str(tmp_path), "--sphere-to-background", "4", "--series", other]
    )
    assert chosen.exit_code == 0, chosen.output


def test_cli_unreadable_truth_exits_2(tmp_path: Path, simulated: Path) -> None:
    done = CliRunner().invoke(
        app, ["nema", "analyse", str(simulated / "dicom"), "--truth", str(tmp_path / "none.csv")]
    )
    assert done.exit_code == 2, done.output
    assert "none.csv: cannot be read" in done.stderr


def test_a_sphere_left_unfilled_is_named() -> None:
    """The 10 mm sphere filled like the background: it is refused by name, not measured."""
    grid, image = _phantom()
    flat = image.copy()
    centre = np.asarray(nema_spheres()[0].centre_mm)
    near = np.linalg.norm(_voxel_centres(grid) - centre, axis=-1) <= 12.0
    flat[near] = B
    with pytest.raises(InputValidationError, match=r"^Sphere 1 \(10 mm\) cannot be"):
        analyse_nema(grid.volume(flat.astype(np.float32)), NemaTruth(sphere=S))


def test_cli_fill_time_decays_the_filling(simulated: Path) -> None:
    """simulate-nema's concentrations hold at the series start (10:00); stated 60 min
    earlier (09:00) they are 2**(60 / 109.77) higher (18F half-life 109.77 min, DDEP), and
    --fill-time decays them back: the same RCs as --truth."""
    runner = CliRunner()
    factor = 2.0 ** (60.0 / 109.77)
    args = ["nema", "analyse", str(simulated / "dicom"), "--json"]
    timed = runner.invoke(
        app,
        [
            *args,
            "--sphere-kbq-ml",
            f"{8 * factor:.6f}",
            "--background-kbq-ml",
            f"{2 * factor:.6f}",
            "--fill-time",
            "2026-03-02T09:00:00",
        ],
    )
    assert timed.exit_code == 0, timed.output
    truth = runner.invoke(app, [*args, "--truth", str(simulated / "spheres.csv")])
    assert json.loads(timed.stdout)["sphere_concentration"] == pytest.approx(8000, rel=2e-4)
    for a, b in zip(
        json.loads(timed.stdout)["spheres"], json.loads(truth.stdout)["spheres"], strict=True
    ):
        assert a["rc_max"] == pytest.approx(b["rc_max"], rel=2e-4)
    bad = runner.invoke(app, [*args, "--sphere-to-background", "4", "--fill-time", "09:00"])
    assert bad.exit_code == 2
    assert "--fill-time applies to --sphere-kbq-ml" in bad.stderr
    bad = runner.invoke(app, [*args, "--sphere-kbq-ml", "8", "--fill-time", "nine"])
    assert bad.exit_code == 2
    assert "--fill-time 'nine': expected a date and time" in bad.stderr
