"""Body-size quantities that normalise SUV: lean body mass, body surface area, ideal weight.

For ``PatientSex`` 'O' (other) the sex-specific formulas have no answer; petdx then uses the
mean of the male and female values and says so in a warning. This is what the IBSI SUV
digital reference object DRO_2_2 (IBW, sex 'O') encodes.
"""

from __future__ import annotations

from petdx.errors import Hint, MissingAttributeError

__all__ = [
    "body_surface_area_dubois_m2",
    "ideal_body_weight_sugawara_kg",
    "lean_body_mass_james_kg",
    "lean_body_mass_janmahasatian_kg",
]


def _by_sex(sex: str, male: float, female: float) -> float:
    s = sex.strip().upper()
    if s == "M":
        return male
    if s == "F":
        return female
    if s == "O":
        return 0.5 * (male + female)
    raise MissingAttributeError(
        f"PatientSex (0010,0040) is '{sex}'; the formula needs M, F or O. "
        "Give it (sex) or fix the header.",
        hint=Hint("sex", ("M", "F", "O")),
    )


def lean_body_mass_janmahasatian_kg(weight_kg: float, height_m: float, sex: str) -> float:
    """Lean body mass (kg) by Janmahasatian et al. 2005.

    ``LBM = 9270 W / (6680 + 216 BMI)`` (male), ``9270 W / (8780 + 244 BMI)`` (female),
    with W in kg and BMI = W / H^2 (kg/m^2).

    References
    ----------
    Janmahasatian S, et al. Quantification of lean bodyweight. Clin Pharmacokinet
    2005;44:1051-65. doi:10.2165/00003088-200544100-00004
    """
    bmi = weight_kg / height_m**2
    male = 9270.0 * weight_kg / (6680.0 + 216.0 * bmi)
    female = 9270.0 * weight_kg / (8780.0 + 244.0 * bmi)
    return _by_sex(sex, male, female)


def lean_body_mass_james_kg(weight_kg: float, height_m: float, sex: str) -> float:
    """Lean body mass (kg) by James 1976 ("James-128").

    ``LBM = 1.10 W - 128 (W/H)^2`` (male), ``1.07 W - 148 (W/H)^2`` (female), W in kg and
    H in cm. It falls for very heavy patients, the reason PERCIST moved to Janmahasatian.

    References
    ----------
    James WPT. Research on obesity. London: HMSO; 1976. As used in Sugawara Y, et al.
    Radiology 1999;213:521-5. doi:10.1148/radiology.213.2.r99nv37521
    """
    ratio = weight_kg / (height_m * 100.0)
    male = 1.10 * weight_kg - 128.0 * ratio**2
    female = 1.07 * weight_kg - 148.0 * ratio**2
    return _by_sex(sex, male, female)


def body_surface_area_dubois_m2(weight_kg: float, height_m: float) -> float:
    """Body surface area (m^2) by DuBois & DuBois 1916: ``0.007184 W^0.425 H_cm^0.725``.

    References
    ----------
    DuBois D, DuBois EF. A formula to estimate the approximate surface area if height and
    weight be known. Arch Intern Med 1916;17:863-71.
    """
    return 0.007184 * weight_kg**0.425 * (height_m * 100.0) ** 0.725


def ideal_body_weight_sugawara_kg(height_m: float, sex: str) -> float:
    """Ideal body weight (kg) as Sugawara et al. 1999 use it for SUV normalisation.

    ``IBW = 48.0 + 1.06 (H_cm - 152)`` (male), ``45.5 + 0.91 (H_cm - 152)`` (female).

    References
    ----------
    Sugawara Y, Zasadny KR, Neuhoff AW, Wahl RL. Reevaluation of the standardized uptake
    value for FDG. Radiology 1999;213:521-5. doi:10.1148/radiology.213.2.r99nv37521
    """
    height_cm = height_m * 100.0
    male = 48.0 + 1.06 * (height_cm - 152.0)
    female = 45.5 + 0.91 * (height_cm - 152.0)
    return _by_sex(sex, male, female)
