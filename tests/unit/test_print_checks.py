"""The one printer of checks (backend check, doctor, validate): a column of names, the remedy under each
non-pass, and, for validate, none under a check skipped because an earlier one failed."""

from __future__ import annotations

import pytest

from gfwizard.checks import failed, passed, warned
from gfwizard.commands._common import print_checks

CHECKS = [passed("kubeconfig", "found"), failed("reachable", "connection refused", "start the API server"),
          warned("rbac", "skipped: the API server did not answer", "fix the 'reachable' check first"),
          warned("a-check-name-longer-than-the-cap-of-32", "slow", "look at it")]


def _lines(capsys: pytest.CaptureFixture[str], **kwargs: object) -> list[str]:
    print_checks(CHECKS, **kwargs)  # type: ignore[arg-type]
    return capsys.readouterr().out.splitlines()


def test_every_non_pass_has_its_remedy_under_it_and_the_details_line_up(capsys: pytest.CaptureFixture[str]) -> None:
    lines = _lines(capsys)
    assert [line.split()[0] for line in lines if not line.lstrip().startswith("remedy:")] == ["PASS", "FAIL", "WARN",
                                                                                           "WARN"]
    for check in CHECKS[1:]:
        row = next(i for i, line in enumerate(lines) if f" {check.name} " in line)
        assert lines[row + 1].strip() == f"remedy: {check.remedy}"
    # the details of names within the cap start in one column, and their remedies under them
    starts = {line.index(check.detail) for line in lines for check in CHECKS[:3] if check.detail in line}
    remedies = {line.index("remedy:") for line in lines if "remedy:" in line}
    assert len(starts) == 1 and remedies == starts


def test_without_skipped_remedies_a_skipped_check_shows_none(capsys: pytest.CaptureFixture[str]) -> None:
    shown = _lines(capsys)
    hidden = _lines(capsys, skipped_remedies=False)
    assert f"remedy: {CHECKS[2].remedy}" in "\n".join(shown)
    assert [line for line in shown if CHECKS[2].remedy not in line] == hidden
    assert f"remedy: {CHECKS[1].remedy}" in "\n".join(hidden) and f"remedy: {CHECKS[3].remedy}" in "\n".join(hidden)


def test_the_verdict_counts_the_warnings_of_a_passing_report() -> None:
    # "all checks passed" under a WARN row read as nothing to do (backend check's `http state` warning).
    from gfwizard.commands._common import verdict

    fine = [passed("kubeconfig", "found")]
    assert verdict(fine, ok=True) == "all checks passed"
    assert verdict([*fine, CHECKS[3]], ok=True) == "all checks passed, 1 with a warning (WARN above)"
    assert verdict(CHECKS, ok=False) == "some checks failed"
