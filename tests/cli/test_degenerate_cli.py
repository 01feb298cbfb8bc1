"""``petdx stats`` on degenerate data (issue 19 Build 3): an undefined statistic is printed as
null in the JSON with its reason in ``warnings`` and on stderr, exit 0; where R stops (one
class, one group) petdx refuses with exit 2 and the cause. R's behaviour per case is quoted in
tests/stats/test_degenerate.py."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from petdx.cli import app

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["stats", *args])
    return result.exit_code, result.stdout, result.stderr


def _csv(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_kappa_of_identical_one_category_ratings_is_null_with_reason(tmp_path: Path) -> None:
    data = _csv(tmp_path / "r.csv", "id,r1,r2,r3\n1,a,a,a\n2,a,a,a\n3,a,a,a\n4,a,a,a\n")
    code, out, err = _run("agreement", str(data), "--rater", "r1", "--rater", "r2", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["estimate"] is None
    assert doc["p"] is None
    assert any("one category" in w for w in doc["warnings"])
    assert "warning:" in err
    assert "one category" in err
    code, out, err = _run(
        "agreement",
        str(data),
        *("--rater", "r1", "--rater", "r2", "--rater", "r3"),
        *("--measure", "fleiss", "--bootstrap", "50", "--json"),
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["estimate"] is None
    assert any("one category" in w for w in doc["warnings"])


def test_constant_marker_auc_warns_on_stderr_and_in_json(tmp_path: Path) -> None:
    data = _csv(tmp_path / "c.csv", "id,truth,m\n1,1,2\n2,0,2\n3,1,2\n4,0,2\n5,1,2\n6,0,2\n")
    code, out, err = _run(
        "roc", str(data), "--truth", "truth", "--positive", "1", "--score", "m", "--json"
    )
    assert code == 0, err
    curve = json.loads(out)["curves"][0]
    assert (curve["auc"], curve["ci_low"], curve["ci_high"]) == (0.5, 0.5, 0.5)
    assert "variance is 0" in err
    assert any("variance is 0" in w for w in curve["warnings"])


def test_one_class_roc_and_one_group_logrank_exit_2_with_the_cause(tmp_path: Path) -> None:
    data = _csv(tmp_path / "p.csv", "id,truth,m\n1,1,2\n2,1,3\n3,1,4\n")
    code, _, err = _run("roc", str(data), "--truth", "truth", "--positive", "1", "--score", "m")
    assert code == 2
    assert "'truth'" in err
    assert "both groups" in err
    assert "Traceback" not in err
    surv = _csv(tmp_path / "s.csv", "id,time,status,g\n1,1,1,a\n2,2,0,a\n3,3,1,a\n")
    code, _, err = _run(
        "survival", str(surv), "--time", "time", "--event", "status", "--group", "g"
    )
    assert code == 2
    assert "only one group" in err
    assert "Traceback" not in err


def test_cox_perfect_separation_warns_in_the_json(tmp_path: Path) -> None:
    rows = "".join(f"{i},{i},{int(i <= 3)},{int(i <= 3)}\n" for i in range(1, 7))
    data = _csv(tmp_path / "s.csv", "id,time,status,x\n" + rows)
    code, out, err = _run(
        "survival",
        str(data),
        *("--time", "time", "--event", "status", "--event-value", "1"),
        *("--covariates", "x", "--json"),
    )
    assert code == 0, err
    doc = json.loads(out)
    assert any("may be infinite" in w for w in doc["cox_model"]["warnings"])
    assert "separates the events perfectly" in err
