"""The machine-readable UI stream: every message type becomes a typed, redacted event."""

from __future__ import annotations

import json

import pytest

from gfwizard.redact import MASK, Redactor, is_secret_key
from gfwizard.tofu_events import (
    ApplyComplete, ApplyErrored, ApplyProgress, ApplyStart, ChangeSummary, Diagnostic, LogEvent, OutputsEvent,
    PlannedChange, ProvisionEvent, RefreshEvent, ResourceDrift, UnknownEvent, VersionEvent, parse_ui_line, redact_obj,
)

RES = {"addr": "terraform_data.workload[\"attic-dev/attic\"]", "module": "", "resource_type": "terraform_data",
       "resource": "terraform_data.workload[\"attic-dev/attic\"]", "resource_name": "workload",
       "resource_key": "attic-dev/attic", "implied_provider": "terraform"}


def line(kind: str, **fields: object) -> str:
    return json.dumps({"@level": "info", "@message": f"msg {kind}", "@module": "terraform.ui",
                       "@timestamp": "2025-01-01T00:00:00Z", "type": kind, **fields})


def test_version_and_log() -> None:
    ev = parse_ui_line(line("version", terraform="1.11.4", ui="1.2"))
    assert isinstance(ev, VersionEvent) and ev.version == "1.11.4" and ev.ui == "1.2"
    assert isinstance(parse_ui_line(line("log")), LogEvent)


def test_planned_change_and_drift() -> None:
    ev = parse_ui_line(line("planned_change", change={"resource": RES, "action": "replace", "reason": "tainted"}))
    assert isinstance(ev, PlannedChange)
    assert (ev.address, ev.action, ev.reason, ev.resource_type) == (RES["addr"], "replace", "tainted", "terraform_data")
    assert isinstance(parse_ui_line(line("resource_drift", change={"resource": RES, "action": "update"})), ResourceDrift)


@pytest.mark.parametrize(("kind", "cls"), [("apply_start", ApplyStart), ("apply_progress", ApplyProgress),
                                           ("apply_complete", ApplyComplete), ("apply_errored", ApplyErrored)])
def test_apply_hooks(kind: str, cls: type) -> None:
    ev = parse_ui_line(line(kind, hook={"resource": RES, "action": "create", "id_key": "id", "id_value": "x1",
                                        "elapsed_seconds": 3}))
    assert isinstance(ev, cls)
    assert ev.address == RES["addr"] and ev.action == "create"
    if kind != "apply_start":
        assert ev.elapsed_seconds == 3.0


def test_provision_refresh_outputs_unknown() -> None:
    ev = parse_ui_line(line("provision_progress", hook={"resource": RES, "provisioner": "local-exec", "output": "hi"}))
    assert isinstance(ev, ProvisionEvent) and ev.provisioner == "local-exec" and ev.output == "hi"
    assert isinstance(parse_ui_line(line("refresh_start", hook={"resource": RES})), RefreshEvent)
    out = parse_ui_line(line("outputs", outputs={"workloads": {"value": [1]}, "namespaces": {"value": ["a"]}}))
    assert isinstance(out, OutputsEvent) and out.names == ("namespaces", "workloads")
    assert isinstance(parse_ui_line(line("test_run")), UnknownEvent)


def test_change_summary_counts() -> None:
    ev = parse_ui_line(line("change_summary", changes={"add": 2, "change": 1, "remove": 3, "import": 0,
                                                       "operation": "apply"}))
    assert isinstance(ev, ChangeSummary)
    assert (ev.add, ev.change, ev.remove, ev.operation) == (2, 1, 3, "apply")


def test_diagnostic_fields_are_structured() -> None:
    ev = parse_ui_line(line("diagnostic", diagnostic={
        "severity": "error", "summary": "Error acquiring the state lock", "detail": "Lock Info: ...",
        "address": "terraform_data.x", "range": {"filename": "main.tf", "start": {"line": 7}}}))
    assert isinstance(ev, Diagnostic) and ev.is_error
    assert (ev.summary, ev.address, ev.filename, ev.line) == ("Error acquiring the state lock", "terraform_data.x",
                                                               "main.tf", 7)
    warning = parse_ui_line(line("diagnostic", diagnostic={"severity": "warning", "summary": "w"}))
    assert isinstance(warning, Diagnostic) and not warning.is_error


@pytest.mark.parametrize("text", ["", "Initializing the backend...", "{not json", "[1, 2]", '{"no_type": 1}'])
def test_non_messages_are_not_events(text: str) -> None:
    assert parse_ui_line(text) is None


def test_every_string_is_redacted_before_the_event_exists() -> None:
    redactor = Redactor()
    redactor.register("canary-Zq81xLw")
    ev = parse_ui_line(line("diagnostic", diagnostic={"severity": "error", "summary": "bad canary-Zq81xLw",
                                                      "detail": "token: abc123secret"}), redactor.redact)
    assert isinstance(ev, Diagnostic)
    assert "canary-Zq81xLw" not in ev.summary and "[REDACTED]" in ev.summary
    assert "abc123secret" not in ev.detail


def test_redact_obj_masks_a_secret_named_keys_value_whatever_it_looks_like() -> None:
    """``hunter2`` looks like nothing, yet under ``password`` it is one: masked at any depth, leaf by leaf in a
    list or a mapping; an empty string, a boolean and null say nothing and stay."""
    data = {"runs": [{"user": "bob", "password": "hunter2"}],
            "outer": {"inner": {"DB-PASSWORD": "hunter2", "client_secret": ["hunter2", 7, None, True, ""],
                                "token": {"value": "hunter2", "n": 42}}}}
    out = redact_obj(data, Redactor().redact)
    assert "hunter2" not in json.dumps(out)
    assert out == {"runs": [{"user": "bob", "password": MASK}],
                   "outer": {"inner": {"DB-PASSWORD": MASK, "client_secret": [MASK, MASK, None, True, ""],
                                       "token": {"value": MASK, "n": MASK}}}}


def test_redact_obj_leaves_a_key_that_names_no_secret_alone() -> None:
    """An S3 object's ``key``, a path to a password file, a word that only contains a secret's name: their values
    are redacted only if they look like secrets."""
    data = {"key": "dev/attic.tfstate", "password_file": "/etc/pw", "passwords": "two", "token_count": 3,
            "notes": ["hunter2", {"keys": "hunter2"}]}
    assert redact_obj(data, Redactor().redact) == data


def test_redact_obj_redacts_keys_only_when_asked() -> None:
    """A UI message's or a journal entry's keys are names; a command's ``--json`` document may key by data."""
    data = {"https://bob:hunter2hunter2@git.example/x.git": {"ok": True}}
    assert redact_obj(data, Redactor().redact) == data
    assert redact_obj(data, Redactor().redact, keys=True) == {f"https://bob:{MASK}@git.example/x.git": {"ok": True}}


@pytest.mark.parametrize("key", ["password", "Password", "db-password", "client_secret", "AWS_SECRET_ACCESS_KEY",
                                 "id-token", "x.token", "key", "password_file", "passwords", "token_count",
                                 "secrets", "api_key", "apikey", "public_key", "private-key", "name"])
def test_a_secret_named_key_is_what_the_text_redactor_masks(key: str) -> None:
    """One rule for both: a key is secret-named exactly when the text redactor masks its value in JSON text."""
    masked_as_text = MASK in Redactor().redact(json.dumps({key: "hunter2"}))
    assert is_secret_key(key) is masked_as_text
    assert (redact_obj({key: "hunter2"}, Redactor().redact)[key] == MASK) is masked_as_text


def test_redact_obj_keeps_json_valid() -> None:
    redactor = Redactor()
    redactor.register('se"cret-value')
    data = {"token": 'x se"cret-value y', "list": ["password: hunter22", 3], "n": None}
    out = redact_obj(data, redactor.redact)
    text = json.dumps(out)
    assert json.loads(text)["n"] is None
    assert 'se\\"cret-value' not in text and "hunter22" not in text
