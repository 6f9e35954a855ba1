"""Rendering ``organization.yaml`` (writing it to disk: :mod:`gfwizard.orgconfig_write`).

A rewrite updates the operator's ruamel document in place, so comments, key order and quoting
survive (pinning the fingerprint keeps every comment). An unchanged config keeps the file's bytes.
Writes are atomic (temp file in the same directory, fsync, ``os.replace``) and the previous file is
kept as ``organization.yaml.bak``. What is written is re-read and must validate to the same config,
so the file never holds a credential or anything the loader would reject.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Any

from gfwizard.errors import InputError

if TYPE_CHECKING:
    from pydantic import BaseModel

    from gfwizard.orgconfig import OrgConfig

SCHEMA_LINE = "yaml-language-server: $schema=organization.schema.json"
HEADER = (
    f"{SCHEMA_LINE}\n"
    "gfwizard organization config (reference: docs/config-reference.md).\n"
    "No credentials here: they come from the AWS environment/profile or the kubeconfig."
)

#: Comments placed before each top-level section of a new file.
SECTION_COMMENTS: dict[str, str] = {
    "cluster": "The one physical cluster. bumble and sting are node roles inside it, never clusters or contexts.",
    "placement": "Node roles inside the cluster, and the role each stack's workloads are placed on.",
    "state": "OpenTofu state: s3 (target) or http (transitional). State key: {key_prefix}/{env}/{stack}.tfstate",
    "environments": "Logical environments; every one targets the one cluster.",
    "stacks": "Stacks under tofu/stacks/; deploy order follows depends_on.",
}

#: Paths ("*" matches any key or index) rendered in flow style in a new file.
FLOW_PATHS: tuple[tuple[Any, ...], ...] = (
    ("organization",),
    ("cluster", "legacy_contexts"),
    ("placement", "roles", "*", "node_selector"),
    ("placement", "roles", "*", "tolerations", "*"),
    ("environments", "*"),
    ("stacks", "*"),
)


_YAML11_SPECIAL = frozenset({"yes", "no", "on", "off", "y", "n", "true", "false", "null", "~"})


def config_data(cfg: "BaseModel", *, minimal: bool) -> dict[str, Any]:
    """Plain data of a config section in field order; ``minimal`` drops fields at their default
    (except each section's ``always_written`` ones)."""
    out: dict[str, Any] = {}
    model_type = type(cfg)
    always = getattr(model_type, "always_written", frozenset())
    for name, field in model_type.model_fields.items():
        value = getattr(cfg, name)
        if minimal and name not in always and not field.is_required() and value == field.get_default(
                call_default_factory=True):
            continue
        out[name] = _data(value, minimal)
    return out


def _data(value: Any, minimal: bool) -> Any:
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return config_data(value, minimal=minimal)
    if isinstance(value, dict):
        return {k: _data(v, minimal) for k, v in value.items()}
    if isinstance(value, list):
        return [_data(v, minimal) for v in value]
    return value


# -- rendering --------------------------------------------------------------------------------------


def render_config(cfg: "OrgConfig", existing_text: str | None = None) -> str:
    """Exactly the text :func:`save_config` would write for ``cfg`` over a file holding ``existing_text``.

    ``existing_text`` is the file as it is (:func:`read_existing`, no newline translation): a file
    with CRLF line endings or a UTF-8 BOM is rewritten in the same style.
    """
    from gfwizard.orgconfig import OrgConfig
    from gfwizard.orgconfig_yaml import ConfigError, load_config_text

    # Re-validate: a model's dicts and lists are mutable even when the model is frozen.
    cfg = OrgConfig.model_validate(cfg.model_dump())
    if existing_text is not None and existing_text.strip():
        try:
            if load_config_text(existing_text, "<existing>") == cfg:
                return existing_text
        except ConfigError:
            pass
        bom, body, crlf = _text_style(existing_text)
        text = _render_over(cfg, body)
        if text is None or not _round_trips(text, cfg):
            text = _render_new(cfg)
            _check_fresh(text, cfg)
        return _apply_style(text, bom, crlf)
    text = _render_new(cfg)
    _check_fresh(text, cfg)
    return text


def _check_fresh(text: str, cfg: "OrgConfig") -> None:
    if not _round_trips(text, cfg):  # a bug, never an operator error
        raise RuntimeError("rendered organization.yaml does not load back to the same config")


def _text_style(text: str) -> tuple[bool, str, bool]:
    """(has a BOM, the text without BOM and with LF line ends, every line ended CRLF)."""
    bom = text.startswith("\ufeff")
    body = text.removeprefix("\ufeff")
    # ruamel keeps a comment's '\r' but writes every other line with '\n': mixed endings, unless
    # the text is rendered as LF and converted back.
    crlf = "\r\n" in body and body.count("\n") == body.count("\r\n")
    return bom, body.replace("\r\n", "\n") if "\r\n" in body else body, crlf


def _apply_style(text: str, bom: bool, crlf: bool) -> str:
    if crlf:
        text = text.replace("\n", "\r\n")
    return "\ufeff" + text if bom else text


def _round_trips(text: str, cfg: "OrgConfig") -> bool:
    from gfwizard.orgconfig_rules import secret_value_reason
    from gfwizard.orgconfig_yaml import ConfigError, load_config_text

    reason = secret_value_reason(text)
    if reason is not None:
        raise InputError(f"refusing to write organization.yaml: the file (or one of its comments) holds a {reason}",
                         remedy="remove the credential from the file's comments; credentials never belong in it")
    try:
        return load_config_text(text, "<rendered>") == cfg
    except ConfigError:
        return False


def _yaml(mapping_indent: int = 2, sequence_indent: int = 4, offset: int = 2) -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=mapping_indent, sequence=sequence_indent, offset=offset)
    return yaml


def _dump(yaml: Any, doc: Any) -> str:
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def effective_yaml(cfg: "OrgConfig") -> str:
    """Every field of ``cfg`` with defaults filled in, as YAML (for ``config show``; never saved)."""
    return _dump(_yaml(), _node(config_data(cfg, minimal=False), ()))


def _render_new(cfg: "OrgConfig") -> str:
    doc = _node(config_data(cfg, minimal=True), ())
    doc.yaml_set_start_comment(HEADER)
    for key, comment in SECTION_COMMENTS.items():
        if key in doc:
            doc.yaml_set_comment_before_after_key(key, before="\n" + comment, indent=0)
    return _dump(_yaml(), doc)


def _render_over(cfg: "OrgConfig", existing_text: str) -> str | None:
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.util import load_yaml_guess_indent

    try:
        _, seq_indent, offset = load_yaml_guess_indent(existing_text)
        yaml = _yaml(_guess_mapping_indent(existing_text), seq_indent or 2, offset or 0)
        doc = yaml.load(existing_text)
    except YAMLError:
        return None
    if not isinstance(doc, CommentedMap):
        return None
    _merge_map(doc, config_data(cfg, minimal=False), config_data(cfg, minimal=True), ())
    return _dump(yaml, doc)


def _guess_mapping_indent(text: str) -> int:
    indents = [len(m.group(1)) for m in re.finditer(r"^( +)[^\s#-]", text, re.MULTILINE)]
    return min(indents) if indents else 2


#: Characters that start a YAML indicator: a string starting with one is always quoted.
_INDICATORS = frozenset("?:-,[]{}#&*!|>'\"%@`")


def _flow(path: tuple[Any, ...]) -> bool:
    return any(len(p) == len(path) and all(a == "*" or a == b for a, b in zip(p, path)) for p in FLOW_PATHS)


def _node(value: Any, path: tuple[Any, ...]) -> Any:
    """A new ruamel node for plain ``value`` (flow style where :data:`FLOW_PATHS` says so)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(value, str) and (value.lower() in _YAML11_SPECIAL or value[:1] in _INDICATORS):
        from ruamel.yaml.scalarstring import SingleQuotedScalarString

        # Readers still on YAML 1.1 (PyYAML) must see a string; and ruamel emits e.g. `?0` plain in a
        # flow mapping, where its own parser reads `?` as a key indicator.
        return SingleQuotedScalarString(value)
    if isinstance(value, dict):
        node: Any = CommentedMap()
        for key, item in value.items():
            node[key] = _node(item, (*path, key))
    elif isinstance(value, list):
        node = CommentedSeq(_node(item, (*path, i)) for i, item in enumerate(value))
        if all(not isinstance(item, (dict, list)) for item in value):
            node.fa.set_flow_style()
    else:
        return value
    if _flow(path):
        node.fa.set_flow_style()
    return node


def _same_scalar(old: Any, new: Any) -> bool:
    from gfwizard.orgconfig_yaml import to_plain

    plain = to_plain(old)
    return type(plain) is type(new) and plain == new


def _merge_value(old: Any, full: Any, minimal: Any, path: tuple[Any, ...]) -> Any:
    """``old`` updated to hold ``full`` (new keys from ``minimal`` only); returns the node to keep."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import ScalarString

    if isinstance(old, CommentedMap) and isinstance(full, dict):
        _merge_map(old, full, minimal if isinstance(minimal, dict) else full, path)
        return old
    if isinstance(old, CommentedSeq) and isinstance(full, list):
        _merge_seq(old, full, minimal if isinstance(minimal, list) else full, path)
        return old
    if not isinstance(full, (dict, list)) and _same_scalar(old, full):
        return old
    if isinstance(old, ScalarString) and isinstance(full, str):
        return type(old)(full)  # keep the operator's quoting style
    return _node(minimal if minimal is not None else full, path)


def _merge_map(old: Any, full: dict[str, Any], minimal: dict[str, Any], path: tuple[Any, ...]) -> None:
    for key in [k for k in old if k not in full]:
        _delete_key(old, key)
    previous: Any = None
    for key, value in full.items():
        if key in old and value is None and key not in minimal and old[key] is not None:
            del old[key]  # a value reset to its default (unset) disappears rather than becoming null
        elif key in old:
            merged = _merge_value(old[key], value, minimal.get(key, value), (*path, key))
            if merged is not old[key]:
                old[key] = merged
            previous = key
        elif key in minimal:
            position = list(old).index(previous) + 1 if previous is not None else 0
            moved = _detach_trailing(old, list(old)[-1]) if position == len(old) and len(old) else None
            old.insert(position, key, _node(minimal[key], (*path, key)))
            if moved is not None:
                _attach_trailing(old, key, moved)
            previous = key


def _merge_seq(old: Any, full: list[Any], minimal: list[Any], path: tuple[Any, ...]) -> None:
    old_names = [_name_of(item) for item in old]
    new_names = [_name_of(item) for item in full]
    if len(old) == len(full) and (old_names == new_names or None in new_names):
        for index, (value, small) in enumerate(zip(full, minimal)):
            merged = _merge_value(old[index], value, small, (*path, index))
            if merged is not old[index]:
                old[index] = merged
        return
    by_name = {name: item for name, item in zip(old_names, old) if name is not None}
    items = []
    for index, (value, small) in enumerate(zip(full, minimal)):
        name = _name_of(value)
        if name is not None and name in by_name:
            items.append(_merge_value(by_name[name], value, small, (*path, index)))
        else:
            items.append(_node(small, (*path, index)))
    moved = _detach_trailing(old, len(old) - 1) if len(old) else None
    old.clear()
    old.ca.items.clear()  # per-index comments no longer match their items
    old.extend(items)
    if moved is not None and len(old):
        _attach_trailing(old, len(old) - 1, moved)


# ruamel keeps the full-line comments that follow an entry in the comment slot of the deepest last
# entry of that block; moving an entry's end (insert at the end, delete, reorder) must carry them along,
# or a section's heading comment ends up above the wrong key.


def _comment_slot(holder: Any, key: Any) -> tuple[Any, Any, int]:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    value = holder[key]
    while isinstance(value, (CommentedMap, CommentedSeq)) and len(value) and not value.fa.flow_style():
        holder = value
        key = list(value)[-1] if isinstance(value, CommentedMap) else len(value) - 1
        value = holder[key]
    return holder, key, 2 if isinstance(holder, CommentedMap) else 0


def _detach_trailing(holder: Any, key: Any) -> Any | None:
    """Remove and return the full-line comments after entry ``key`` (its end-of-line comment stays)."""
    import copy

    slot_holder, slot_key, index = _comment_slot(holder, key)
    entry = slot_holder.ca.items.get(slot_key)
    token = entry[index] if entry and len(entry) > index else None
    if token is None or isinstance(token, list):
        return None
    eol, _, rest = token.value.partition("\n")
    if not rest.strip():
        return None
    moved = copy.copy(token)
    moved.value = "\n" + rest
    if eol.strip():
        token.value = eol + "\n"
    else:
        entry[index] = None
    return moved


def _attach_trailing(holder: Any, key: Any, token: Any) -> None:
    """Put comments taken by :func:`_detach_trailing` after entry ``key``."""
    slot_holder, slot_key, index = _comment_slot(holder, key)
    entry = slot_holder.ca.items.setdefault(slot_key, [None, None, None, None])
    while len(entry) <= index:
        entry.append(None)
    existing = entry[index]
    if existing is not None and not isinstance(existing, list):
        token.value = existing.value.partition("\n")[0] + token.value
    entry[index] = token


def _delete_key(old: Any, key: Any) -> None:
    keys = list(old)
    position = keys.index(key)
    moved = _detach_trailing(old, key)
    del old[key]
    if moved is not None and position > 0:
        _attach_trailing(old, keys[position - 1], moved)


def _name_of(item: Any) -> str | None:
    if isinstance(item, dict) and isinstance(item.get("name"), str):
        return str(item["name"])
    return None
