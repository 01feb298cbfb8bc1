"""make test's scheduling: ``pytest -n 2 --dist loadgroup`` sends every test of an
``xdist_group`` to one worker. The cohort modules (tests/pipeline/test_pet_mr_cohort.py,
tests/quantify/test_simulated_cohort.py, ...) build a module fixture of about 45 s that is
built once only if their tests share a worker; pytest 9.2 with pytest-xdist 3.8 silently
dropped the grouping (pytest-xdist issue 1386) and each worker built each of them.

pytest-xdist groups by a suffix it writes on each grouped test's node id on the worker
(``path::test[param]@group``, xdist/remote.py), and its scheduler reads the group back from
the node ids the workers send. The check below reads the node ids this worker collected: a
grouped test without its suffix is a test the scheduler sends to any worker. (Until 03108a4 a
small suite was run in a subprocess with two workers of its own: 2 s alone, 62 s inside a
saturated ``make test``.)"""

from __future__ import annotations

import os

import pytest

GROUP_OF_THIS_MODULE = "xdist_grouping_probe"


def _groups(item: pytest.Item) -> set[str]:
    return {
        str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
        for mark in item.iter_markers("xdist_group")
    }


@pytest.mark.xdist_group(GROUP_OF_THIS_MODULE)
def test_every_grouped_test_carries_its_group_to_the_scheduler(
    request: pytest.FixtureRequest,
) -> None:
    config = request.config
    if not (os.environ.get("PYTEST_XDIST_WORKER") and config.getvalue("loadgroup")):
        pytest.skip("checks make test's scheduling: run under pytest -n 2 --dist loadgroup")
    grouped = {item.nodeid: _groups(item) for item in request.session.items if _groups(item)}
    assert any(GROUP_OF_THIS_MODULE in groups for groups in grouped.values())
    lost = sorted(
        nodeid
        for nodeid, groups in grouped.items()
        if not nodeid.endswith("@" + "_".join(sorted(groups)))
    )
    assert not lost, (
        f"{len(lost)} of {len(grouped)} tests in an xdist_group lost their group (the scheduler "
        f"sends them to any worker), e.g. {lost[:3]}; check the pytest / pytest-xdist pins in "
        "pyproject.toml (pytest-xdist issue 1386)"
    )
