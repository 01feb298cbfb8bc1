"""The error hierarchy's hint: a structured fix that survives pickling, and the command
line's words for it."""

from __future__ import annotations

import pickle

import pytest

from petdx.cli._console import error_text, flag_text
from petdx.errors import GeometryError, Hint, InputValidationError, PetdxError


def test_hint_is_optional_and_survives_pickling() -> None:
    plain = InputValidationError("x: expected a number.")
    assert plain.hint is None
    assert str(plain) == "x: expected a number."
    hinted = GeometryError("not on the grid.", hint=Hint("resample", ("nearest", "fraction")))
    back = pickle.loads(pickle.dumps(hinted))  # as from a worker process
    assert type(back) is GeometryError
    assert str(back) == "not on the grid."
    assert back.hint == Hint("resample", ("nearest", "fraction"))
    assert back.hint.to_dict() == {
        "parameter": "resample",
        "values": ["nearest", "fraction"],
        "alternatives": [],
    }
    assert pickle.loads(pickle.dumps(plain)).hint is None


@pytest.mark.parametrize(
    ("hint", "flag"),
    [
        (Hint("resample", ("nearest", "fraction")), "--resample nearest|fraction"),
        (Hint("height_m"), "--height-m"),
        (Hint("body_weight_kg"), "--weight-kg"),  # the flag's own name
        (
            Hint("liver_centre", alternatives=("liver_mask", "auto_liver")),
            "--liver-centre, --liver-mask or --auto-liver",
        ),
    ],
)
def test_the_command_line_turns_a_hint_into_its_flag(hint: Hint, flag: str) -> None:
    assert flag_text(hint) == flag
    assert error_text(PetdxError("Refused.", hint=hint)) == f"Refused. Pass {flag}."
    assert error_text(PetdxError("Refused.")) == "Refused."


def test_a_message_opening_with_its_parameter_opens_with_the_flag() -> None:
    refused = InputValidationError("contrast 0.5: expected more than 1.", hint=Hint("contrast"))
    assert error_text(refused) == "--contrast 0.5: expected more than 1."
    weight = InputValidationError(
        "body_weight_kg 0.2: expected 1 to 500.", hint=Hint("body_weight_kg")
    )
    assert error_text(weight) == "--weight-kg 0.2: expected 1 to 500."
    # a parameter named inside the sentence is not replaced; the flag follows
    inside = InputValidationError("the contrast is too low.", hint=Hint("contrast"))
    assert error_text(inside) == "the contrast is too low. Pass --contrast."
