"""config/organization.schema.json and the pydantic model agree: what an editor flags, the loader
refuses, and what the loader accepts, an editor never flags."""

from __future__ import annotations

import copy
import json
from typing import Any, Callable

import jsonschema
import pytest

from gfwizard.orgconfig import OrgConfig
from gfwizard.orgconfig_yaml import parse_yaml, to_plain
from tests.helpers import REPO
from tests.unit.test_orgconfig import example_text

SCHEMA = jsonschema.Draft202012Validator(json.loads((REPO / "config" / "organization.schema.json").read_text()))


def at(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        for key in path[:-1]:
            data = data[key]
        data[path[-1]] = value
    return edit


def drop(path: tuple[Any, ...]) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        for key in path[:-1]:
            data = data[key]
        del data[path[-1]]
    return edit


def model_accepts(data: dict[str, Any]) -> bool:
    try:
        OrgConfig.model_validate(data)
    except ValueError:
        return False
    return True


CASES: dict[str, Callable[[dict[str, Any]], None]] = {
    "the example": lambda d: None,
    "organization name with a capital": at(("organization", "name"), "Tinyland"),
    "organization name with unicode": at(("organization", "name"), "tïnyland"),
    "blank full_name": at(("organization", "full_name"), "  "),
    "unicode full_name": at(("organization", "full_name"), "Tïnyländ ☃"),
    "cluster name with a dot": at(("cluster", "name"), "honey.local"),
    "empty context": at(("cluster", "context"), ""),
    "environment named Dev": at(("environments", "Dev"), {"cluster": "honey", "tfvars": "dev.tfvars"}),
    "environment named prød": at(("environments", "prød"), {"cluster": "honey", "tfvars": "prod.tfvars"}),
    "absolute tfvars": at(("environments", "dev", "tfvars"), "/etc/dev.tfvars"),
    "tfvars escaping the stack": at(("environments", "dev", "tfvars"), "../dev.tfvars"),
    "tfvars in a subdirectory": at(("environments", "dev", "tfvars"), "env/dev.tfvars.json"),
    "tfvars without the suffix": at(("environments", "dev", "tfvars"), "dev.vars"),
    "stack name with a capital": at(("stacks", 0, "name"), "Attic"),
    "role named Bumble": at(("placement", "roles", "Bumble"), {"node_selector": {"a": "b"}}),
    "empty node_selector": at(("placement", "roles", "bumble", "node_selector"), {}),
    "toleration Exists with a value": at(("placement", "roles", "bumble", "tolerations"),
                                         [{"operator": "Exists", "value": "x"}]),
    "toleration Exists without key": at(("placement", "roles", "bumble", "tolerations"), [{"operator": "Exists"}]),
    "toleration Equal without key": at(("placement", "roles", "bumble", "tolerations"), [{"value": "x"}]),
    "toleration Equal with key": at(("placement", "roles", "bumble", "tolerations"), [{"key": "k", "value": "x"}]),
    "backend s3 without s3": drop(("state", "s3")),
    "backend http without http": at(("state", "backend"), "http"),
    "bad bucket": at(("state", "s3", "bucket"), "Bad_Bucket"),
    "bucket with ..": at(("state", "s3", "bucket"), "a..b"),
    "bucket shaped like an IP address": at(("state", "s3", "bucket"), "192.168.1.10"),
    "bucket starting xn--": at(("state", "s3", "bucket"), "xn--state"),
    "bucket ending -s3alias": at(("state", "s3", "bucket"), "state-s3alias"),
    "bucket with digits and dots": at(("state", "s3", "bucket"), "state.2024.1"),
    "ftp endpoint": at(("state", "s3", "endpoint"), "ftp://rustfs:9000"),
    "empty key_prefix": at(("state", "s3", "key_prefix"), ""),
    "key_prefix ending in /": at(("state", "s3", "key_prefix"), "gf/"),
    "key_prefix with //": at(("state", "s3", "key_prefix"), "a//b"),
    "nested key_prefix": at(("state", "s3", "key_prefix"), "acme/gf"),
    "short ca_sha256": at(("cluster", "fingerprint"), {"kube_system_uid": "6f1c2b3a-1111-2222-3333-444455556666",
                                                      "ca_sha256": "ab" * 20}),
    "ca_sha256 with colons": at(("cluster", "fingerprint"), {"kube_system_uid": "6f1c2b3a-1111-2222-3333-444455556666",
                                                            "ca_sha256": ":".join(["AB"] * 32)}),
    "version 2": at(("version",), 2),
    "unknown key": at(("stacks", 0, "foo"), 1),
}

#: Rules the model checks and JSON Schema cannot say (cross-field, or a value JSON calls an integer).
MODEL_ONLY = {"version 1.0": at(("version",), 1.0),
              "a stack listed twice": lambda d: d["stacks"].append({"name": "attic"}),
              "an environment on another cluster": at(("environments", "dev", "cluster"), "other"),
              "a dependency cycle": at(("stacks", 0, "depends_on"), ["runner-dashboard"])}


def example_data() -> dict[str, Any]:
    return to_plain(parse_yaml(example_text()))


@pytest.mark.parametrize("name", CASES)
def test_schema_and_model_agree(name: str) -> None:
    data = copy.deepcopy(example_data())
    CASES[name](data)
    assert SCHEMA.is_valid(data) == model_accepts(data), (
        f"{name}: schema {'accepts' if SCHEMA.is_valid(data) else 'refuses'}, the model "
        f"{'accepts' if model_accepts(data) else 'refuses'}")


@pytest.mark.parametrize("name", MODEL_ONLY)
def test_what_only_the_model_refuses_is_never_refused_by_the_schema_alone(name: str) -> None:
    data = copy.deepcopy(example_data())
    MODEL_ONLY[name](data)
    assert not model_accepts(data) and SCHEMA.is_valid(data)
