"""The lean YAML conversion gives what PyYAML's safe loader gives, for what discovery reads."""

from __future__ import annotations

import yaml

from gfwizard.kubeconfig_yaml import LOADER, load_yaml


def test_c_loader_is_used_when_available() -> None:
    assert LOADER is getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def test_strings_bools_nulls_lists_and_aliases() -> None:
    text = b"a: &x {server: https://h, insecure-skip-tls-verify: true}\nb: *x\nc: ~\nd: [1, yes, 'no']\n"
    doc = load_yaml(text)
    assert doc == {"a": {"server": "https://h", "insecure-skip-tls-verify": True}, "b": doc["a"], "c": None,
                   "d": ["1", True, "no"]}
    assert doc["b"] is doc["a"]  # converted once, shared


def test_merge_keys_fall_back_to_the_safe_constructor() -> None:
    text = b"base: &b {server: https://h}\nfull:\n  <<: *b\n  name: x\n"
    assert load_yaml(text) == yaml.safe_load(text)


def test_recursive_alias_falls_back_to_the_safe_constructor() -> None:
    doc = load_yaml(b"a: &r [1, *r]\n")
    assert doc["a"][1] is doc["a"]


def test_empty_document() -> None:
    assert load_yaml(b"# nothing\n") is None
