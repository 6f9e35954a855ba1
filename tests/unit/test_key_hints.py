"""Remedies on a wizard step put the step's key before the CLI command that does the same."""

from __future__ import annotations

from screens.key_hints import with_keys


def test_a_known_command_gets_its_key_first_and_others_stay() -> None:
    remedy = ("read the transcript /t.log, fix the cause, then `gfwizard deploy --env dev --resume`; "
              "`gfwizard backend locks --env dev` shows the lock")
    shown = with_keys(remedy, {"gfwizard deploy --env dev --resume": "r"})
    assert shown == ("read the transcript /t.log, fix the cause, then press r (or `gfwizard deploy --env dev --resume`); "
                     "`gfwizard backend locks --env dev` shows the lock")
    assert with_keys(remedy, {"gfwizard deploy --env prod --resume": "r"}) == remedy, "another env's command matched"
    assert with_keys("run gfwizard validate --pin", {"gfwizard validate --pin": "p"}) == "run gfwizard validate --pin"
    assert with_keys("run `gfwizard validate --pin` to pin it", {"gfwizard validate --pin": "p"}) == \
        "press p (or run `gfwizard validate --pin`) to pin it"
    assert with_keys("then re-run `gfwizard deploy --env dev --resume`", {"gfwizard deploy --env dev --resume": "r"}) \
        == "then press r (or re-run `gfwizard deploy --env dev --resume`)"
