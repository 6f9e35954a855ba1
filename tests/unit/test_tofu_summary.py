"""Plan summaries and plan hashes from ``show -json`` documents."""

from __future__ import annotations

import copy
from typing import Any

from gfwizard.tofu_summary import plan_hash, plan_summary, sensitive_output_values, sensitive_values


def rc(address: str, actions: list[str], mode: str = "managed", **change: Any) -> dict[str, Any]:
    return {"address": address, "mode": mode, "type": "terraform_data", "name": address.split(".")[-1],
            "change": {"actions": actions, "before": None, "after": {"input": address}, **change}}


def plan(*changes: dict[str, Any], outputs: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "format_version": "1.2", "terraform_version": "1.11.4", "timestamp": "2025-01-01T00:00:00Z",
        "variables": {"environment": {"value": "dev"}},
        "resource_changes": list(changes),
        "output_changes": outputs or {},
        "prior_state": {"serial": 4, "lineage": "abc"},
        "configuration": {"root_module": {"variables": {"environment": {}}}},
    }


def test_counts_are_disjoint_and_addresses_listed() -> None:
    doc = plan(rc("a.create", ["create"]), rc("a.update", ["update"]), rc("a.delete", ["delete"]),
               rc("a.replace1", ["delete", "create"]), rc("a.replace2", ["create", "delete"]),
               rc("a.noop", ["no-op"]), rc("a.forget", ["forget"]), rc("data.x.read", ["read"], mode="data"))
    s = plan_summary(doc)
    assert (s.add, s.change, s.destroy, s.replace, s.forget) == (1, 1, 1, 2, 1)
    assert s.creates == ["a.create"] and s.deletes == ["a.delete"] and s.replaces == ["a.replace1", "a.replace2"]
    assert s.has_changes
    assert s.destructive == [("delete", "a.delete"), ("replace", "a.replace1"), ("replace", "a.replace2")]
    assert s.counts() == "+1 ~1 -1 \u00b12"
    assert s.text() == "1 to add, 1 to change, 1 to destroy, 2 to replace"


def test_no_changes() -> None:
    s = plan_summary(plan(rc("a", ["no-op"]), outputs={"o": {"actions": ["no-op"]}}))
    assert not s.has_changes
    assert (s.add, s.change, s.destroy, s.replace, s.outputs_changed) == (0, 0, 0, 0, 0)


def test_output_only_change_needs_an_apply() -> None:
    s = plan_summary(plan(rc("a", ["no-op"]), outputs={"o": {"actions": ["update"]}}))
    assert s.has_changes and s.outputs_changed == 1 and s.add == 0


def test_hash_ignores_timestamps_serial_and_version() -> None:
    one = plan(rc("a", ["create"]))
    two = copy.deepcopy(one)
    two["timestamp"] = "2030-01-01T00:00:00Z"
    two["prior_state"]["serial"] = 99
    two["terraform_version"] = "1.12.0"
    assert plan_hash(one) == plan_hash(two)
    assert plan_hash(one).startswith("sha256:") and len(plan_hash(one)) == 71


def test_hash_changes_with_the_change_or_the_code() -> None:
    base = plan(rc("a", ["create"]))
    other_action = plan(rc("a", ["update"]))
    other_config = copy.deepcopy(base)
    other_config["configuration"]["root_module"]["variables"]["x"] = {}
    assert len({plan_hash(base), plan_hash(other_action), plan_hash(other_config)}) == 3


def test_sensitive_values_found_in_variables_attributes_and_outputs() -> None:
    doc = plan(rc("t", ["create"], after={"input": {"token": "tok-SECRET-1", "name": "visible"}},
                  after_sensitive={"input": {"token": True}}),
               outputs={"o": {"actions": ["create"], "after": "out-SECRET-2", "after_sensitive": True}})
    doc["variables"]["runner_token"] = {"value": "var-SECRET-3"}
    doc["configuration"]["root_module"]["variables"]["runner_token"] = {"sensitive": True}
    found = sensitive_values(doc)
    assert set(found) == {"tok-SECRET-1", "out-SECRET-2", "var-SECRET-3"}
    assert "visible" not in found and "dev" not in found


def test_sensitive_output_values() -> None:
    outputs = {"a": {"sensitive": True, "value": {"k": "s3cr3t-out"}}, "b": {"sensitive": False, "value": "plain"}}
    assert sensitive_output_values(outputs) == ["s3cr3t-out"]
