"""``petdx demo`` refuses to reuse a cohort simulated with other settings."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from petdx.cli import app


def test_demo_refuses_a_cohort_simulated_with_other_settings(tmp_path: Path) -> None:
    cohort = tmp_path / "cohort"
    cohort.mkdir()
    (cohort / "cohort.toml").write_text(
        "seed = 1\n[parameters]\nn_patients = 8\nsmall = true\n", encoding="utf-8"
    )
    result = CliRunner().invoke(app, ["demo", str(tmp_path), "--no-pdf"])
    assert result.exit_code == 2, result.output
    message = " ".join(result.stderr.split())
    assert "cohort.toml" in message
    assert "n_patients 8 (asked 50)" in message
    assert "small True (asked False)" in message
    assert not (tmp_path / "study").exists()  # nothing created on refusal


def test_demo_refuses_a_noise_free_cohort(tmp_path: Path) -> None:
    """A cohort simulated with --noise-alpha 0 (a validation aid) is not the demo's."""
    cohort = tmp_path / "cohort"
    cohort.mkdir()
    (cohort / "cohort.toml").write_text(
        "seed = 1\n[parameters]\nn_patients = 50\nsmall = false\n[scanner]\nnoise_alpha = 0.0\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["demo", str(tmp_path), "--no-pdf"])
    assert result.exit_code == 2, result.output
    message = " ".join(result.stderr.split())
    assert "noise_alpha 0.0 (asked 0.75)" in message
    assert "n_patients" not in message
    assert not (tmp_path / "study").exists()
