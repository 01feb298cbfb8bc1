"""The private-element lookup of the SUV code (``petdx.suv.inputs._private_value``): its
shortcut for headers without a private creator must give what pydicom's ``private_block``
gives, wherever the creator's block is and when another vendor's creator shares the group."""

from __future__ import annotations

from pydicom.dataset import Dataset

from petdx.suv.inputs import PHILIPS_PRIVATE_CREATOR, _private_value

GROUP = 0x7053


def _header(*creators: tuple[int, str], values: dict[int, str]) -> Dataset:
    ds = Dataset()
    for element, name in creators:
        ds.add_new((GROUP, element), "LO", name)
    for element, value in values.items():
        ds.add_new((GROUP, element), "DS", value)
    return ds


def test_creator_in_another_block_is_found() -> None:
    # creator at (7053,0012): its SUV factor is (7053,1200), not the bare (7053,1000)
    ds = _header(
        (0x0010, "OTHER VENDOR"),
        (0x0012, PHILIPS_PRIVATE_CREATOR),
        values={0x1000: "9.0", 0x1200: "0.0025"},
    )
    value, with_creator = _private_value(ds, GROUP, PHILIPS_PRIVATE_CREATOR, 0x00)
    assert (float(value), with_creator) == (0.0025, True)


def test_without_creator_the_bare_block_is_read() -> None:
    ds = _header(values={0x1000: "0.004"})
    value, with_creator = _private_value(ds, GROUP, PHILIPS_PRIVATE_CREATOR, 0x00)
    assert (float(value), with_creator) == (0.004, False)


def test_other_creator_only_falls_back_to_the_bare_block() -> None:
    ds = _header((0x0010, "OTHER VENDOR"), values={0x1009: "1.5"})
    value, with_creator = _private_value(ds, GROUP, PHILIPS_PRIVATE_CREATOR, 0x09)
    assert (float(value), with_creator) == (1.5, False)


def test_nothing_private_gives_none() -> None:
    ds = Dataset()
    ds.PatientWeight = "70"
    assert _private_value(ds, GROUP, PHILIPS_PRIVATE_CREATOR, 0x00) == (None, False)
