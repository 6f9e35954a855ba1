"""YAML loading for kubeconfig discovery: libyaml's C parser and composer (PyYAML's ``CSafeLoader``,
or the pure ``SafeLoader`` when libyaml is missing), then a lean conversion to plain values.

Profiling 200 files / 2,000 contexts showed PyYAML's constructor costing about a third of the
parse; discovery needs only mappings, lists, strings, booleans and nulls, so the composed nodes are
converted directly. Documents using merge keys or recursive aliases go through the constructor.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, ScalarNode

#: libyaml's loader when PyYAML was built with it, else the pure-Python one.
LOADER: Any = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader


_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_MERGE = "tag:yaml.org,2002:merge"


class _NeedsConstructor(Exception):
    """The document uses a feature the lean conversion leaves to PyYAML (merge keys, recursion)."""


def _plain(node: Any, memo: dict[int, Any], active: set[int]) -> Any:
    """Nodes to plain values: null -> None, bool -> bool, every other scalar -> str.

    Discovery never needs int, float or timestamp values. Aliased nodes are converted once and
    shared, so an alias bomb cannot blow up.
    """
    if isinstance(node, ScalarNode):
        if node.tag == _NULL:
            return None
        if node.tag == _BOOL:
            return node.value.lower() in ("true", "yes", "on", "y")
        return node.value
    key = id(node)
    if key in memo:
        return memo[key]
    if key in active:
        raise _NeedsConstructor
    active.add(key)
    out: Any
    if isinstance(node, MappingNode):
        out = {}
        for k, v in node.value:
            if not isinstance(k, ScalarNode) or k.tag == _MERGE:
                raise _NeedsConstructor
            out[k.value] = _plain(v, memo, active)
    else:
        out = [_plain(v, memo, active) for v in node.value]
    active.discard(key)
    memo[key] = out
    return out


def load_yaml(data: bytes) -> Any:
    """Parse one YAML document with the C loader (PyYAML's pure loader when libyaml is missing)."""
    loader = LOADER(data)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        try:
            return _plain(node, {}, set())
        except _NeedsConstructor:
            return loader.construct_document(node)
    finally:
        loader.dispose()
