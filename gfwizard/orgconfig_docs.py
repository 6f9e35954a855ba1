"""Generated files of the organization config: ``config/organization.schema.json`` (JSON Schema) and
``docs/config-reference.md`` (tables built from the model's field docstrings).

Regenerate both with ``python -m gfwizard.orgconfig_docs``; ``--check`` exits 1 when either is stale.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from gfwizard.orgconfig import OrgConfig, schema_json
from gfwizard.orgconfig_fielddocs import field_docs

REGENERATE_COMMAND = "python -m gfwizard.orgconfig_docs"
SCHEMA_PATH = Path("config") / "organization.schema.json"
REFERENCE_PATH = Path("docs") / "config-reference.md"

#: (heading path, model) in document order.
_SECTIONS: tuple[tuple[str, str], ...] = (
    ("top level", "OrgConfig"),
    ("organization", "Organization"),
    ("cluster", "ClusterSpec"),
    ("cluster.fingerprint", "Fingerprint"),
    ("placement", "Placement"),
    ("placement.roles.<role>", "Role"),
    ("placement.roles.<role>.tolerations[]", "Toleration"),
    ("state", "StateSpec"),
    ("state.s3", "S3Spec"),
    ("state.http", "HttpSpec"),
    ("environments.<env>", "Environment"),
    ("stacks[]", "StackSpec"),
)

_RULES = """\
Beyond the types in the tables, a config is rejected when:

- an environment's `cluster` is not `cluster.name`: every environment targets the one cluster;
- a node role (any key of `placement.roles`, and always `bumble` and `sting`) is used as `cluster.name`,
  `cluster.context`, an environment's `cluster`, or the name of the kubeconfig file
  ("node role, not a cluster"), in any case and as a whole word of the name (`Bumble`, `bumble-admin`,
  `admin@sting`; not `bumblebee`), as the kubeconfig classifier of `gfwizard discover` and `validate` does;
- a legacy context (`cluster.legacy_contexts`, `tinyland-civo-dev`, any Civo-named or GitLab-agent
  shaped context) is used in one of those places ("legacy compatibility only");
- `placement.stacks` names a stack not in `stacks`, or a role not in `placement.roles`;
- `depends_on` names a stack that does not exist, or the dependencies form a cycle (the cycle is shown,
  e.g. `a -> b -> a`); a stack is listed twice;
- any key looks like a credential (`password`, `token`, `secret`, `access_key`, ...) or any value looks
  like one (`glpat-...`, `AKIA...`, a URL with a password, a private key, or 40 characters of
  `[A-Za-z0-9/+]` with a capital, a small letter and a digit — an AWS secret access key's shape; a
  lowercase hex digest is not one): credentials come from the AWS environment/profile or the kubeconfig
  (HTTP state: `TF_HTTP_PASSWORD`), never this file (a credential-named key is reported under the mapping
  that holds it, at the key's line and column: `state.http: key 'password' looks like a credential
  field`); the value is never shown, only its field and line, and the field's other problems are left
  out, as they would quote it (an AWS secret access key's message also says to remove it, and to rotate
  the key if the file was shared); a comment that holds one (`# AKIA...`) is reported at the comment's
  line and column, without the comment: comments are committed too;
- a name (organization, environment, stack, role) or the bucket is not entirely of its allowed characters,
  or the key prefix or a tfvars file holds a control character: a quoted `"dev\\n"` is not `dev`;
- `cluster.context` or `cluster.kubeconfig` starts or ends with a space, or holds a control character: a pasted
  `'honey '` names no context (checked after the node-role and legacy rules);
- `state.s3.region` is not a region name of lowercase letters, digits and `-` (e.g. `us-east-1`; RustFS
  accepts any region, so this only refuses URLs, spaces, capitals and other characters);
- a URL (`cluster.api_server`, `state.s3.endpoint`, the `state.http` addresses) holds a user name,
  password, space, query or fragment; messages show a URL's query or fragment as `?…` / `#…` (it may hold
  a token) and an HTTP address's `{stack}` and `{env}` as written;
- a key is unknown (the error suggests the closest known key);
- `state.backend` is `s3` without `state.s3`, or `http` without `state.http`;
- `cluster.api_server` is not `https://`, or its host is a public IP address (honey's API is never reached
  over the internet); `cluster.network` is `loopback` (the rehearsal) but the API server is not a
  loopback address; `state.s3.endpoint`'s host is a public IP address (the state lives on honey and is
  never reached over the internet; as for the API server, a name such as `rustfs.honey.ts.net` is not
  resolved by the file check); `version` is not `1`.

The rules that relate fields to each other — an environment's `cluster`, a node role or legacy context
used as the cluster, context or kubeconfig name, the loopback and public-address rules of
`cluster.api_server` and `state.s3.endpoint`, environment and role names, `placement`, `depends_on` and
a stack listed twice — are checked once every field has a value of its type and no key is unknown. Until
then only those field problems are listed (and any credential-looking value), so fixing them can bring
up one of these rules next.

Types are strict: YAML 1.2 reads `yes`, `no`, `on` and `off` as strings, so `use_lockfile: yes` is an
error (write `true`), while `name: no` is the string `"no"`. Quoted values are always strings.

A valid config can still get a warning (`WARN`, with its remedy; `config validate` still exits 0): an
environment whose name says production (`prod`, `production`, `prd`, or one of them as a `-`-separated part,
as in `prod-eu`) without `require_confirmation: true` is asked only yes/no before an apply, where production
needs its name typed. `config validate`, `doctor` and a `deploy` of that environment say so, with the line
to add.

A message quotes at most 60 characters of an offending value or key, cut in the middle, and says how long
it is (`'aaaa…bbbb' (300 characters)`): a pasted page does not fill the screen. The wizard's fields and
`config init --plain` say the same.
"""


_COMMANDS = """\
## Commands

- `gfwizard config validate [PATH] [--json]`: exit 0 valid, 1 invalid (every problem listed on stdout
  as `file:line:col: field.path: message`; the rules between fields once every field is valid, see Rules), 2 missing or unreadable file, or a PATH and a `--config`
  naming two different files (the error on stderr). `--json`
  keys: `path`, `valid`, `problems` (`file`, `line`, `column`, `field`, `message`), `warnings` (`name`,
  `level`, `detail`, `remedy`) on exit 0 (the text output's `WARN` lines), `remedy` on exit 1
  (what the text output's `remedy:` line says), and `error` (`message`, `remedy`, `exit_code`) on exit 2.
- `gfwizard config show [--config PATH] [--json]`: the effective config with defaults filled in, the
  stack order, the placement and the state key of each environment and stack. `--json` keys: `path`,
  `config`, `stack_order`, `placement` (stack: role or null), `state_keys` (env: stack: key), and
  `http_addresses` (env: stack: address) with the http backend.
- `gfwizard config init [--plain] [--config PATH] [--force]`: the wizard's Config step, or with
  `--plain` every field as a plain prompt (the wizard takes the context and kubeconfig file from
  its Kubeconfig step and the state fields from its State backend step, and never asks the API server and
  network: they come from the existing file, or are honey's `https://100.113.89.12:6443` over the tailnet in a
  new one, and its Validate step checks the picked context against them; `--plain` asks them). Each answer is checked as it is typed, with the rules
  above; a choice that conflicts with an earlier answer (network `loopback` for an API server that is
  not a loopback address) is shown with the reason, and the questions involved are asked again, every
  other answer kept. Shows the file and a diff against the existing one and writes only on
  confirmation (atomically; the previous file is kept next to it with `.bak` added, e.g.
  `organization.yaml.bak`; comments and key order survive). Ctrl-C at any prompt, or Ctrl-D at a
  choice, a yes/no or an empty text answer (on a line with text it deletes the character under the cursor, as
  in a shell: Ctrl-U empties the line), writes nothing and exits 130. `--force` (with `--plain`) starts from the defaults when the existing file
  is invalid; without `--plain` it is refused (exit 2): the wizard never starts over an invalid file.
  Both ways need a terminal: without one `config init` exits 2, writes nothing, and says to copy
  `config/organization.example.yaml`, edit it and check it with `gfwizard config validate`. `--plain` refuses a
  path it cannot write (a read-only file, a file where a directory should be, a directory not writable
  by you) with exit 2 before the first question.
"""


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        inner = " or ".join(_type_name(a) for a in args)
        return f"{inner} or null" if len(args) != len(get_args(tp)) else inner
    if origin is Literal:
        return " | ".join(f"`{json.dumps(a)}`" for a in get_args(tp))
    if origin is dict:
        key, value = get_args(tp)
        return f"map of {_type_name(key)} to {_type_name(value)}"
    if origin is list:
        return f"list of {_type_name(get_args(tp)[0])}"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        heading = next((h for h, name in _SECTIONS if name == tp.__name__), tp.__name__)
        return f"mapping (`{heading}`)"
    return {str: "string", int: "integer", bool: "boolean", float: "number"}.get(tp, getattr(tp, "__name__", str(tp)))


def _default(field: Any) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, BaseModel):
        return "empty" if not value.model_dump(exclude_defaults=True) else "see below"
    return f"`{json.dumps(value)}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def reference_markdown() -> str:
    """The text of ``docs/config-reference.md``."""
    import gfwizard.orgconfig as models

    out = [
        "# organization.yaml reference",
        "",
        f"<!-- Generated from gfwizard/orgconfig.py by `{REGENERATE_COMMAND}`. Do not edit by hand. -->",
        "",
        "`config/organization.yaml` (or `--config PATH`, or `$GFW_CONFIG`) describes the one cluster, its node",
        "roles, the state backend, the environments and the stacks. Start from",
        "`config/organization.example.yaml` or run `gfwizard config init`; check a file with",
        "`gfwizard config validate [PATH]` and see the effective values with `gfwizard config show`.",
        "Editors that speak the YAML language server pick up `config/organization.schema.json` through",
        "the file's first line: `# yaml-language-server: $schema=organization.schema.json`.",
        "",
        "## Rules",
        "",
        _RULES.rstrip(),
        "",
    ]
    out += [_COMMANDS.rstrip(), ""]
    for heading, model_name in _SECTIONS:
        model: type[BaseModel] = getattr(models, model_name)
        out += [f"## `{heading}`", "", _cell(model.__doc__ or ""), "",
                "| field | type | default | description |", "| --- | --- | --- | --- |"]
        docs = field_docs().get(model_name, {})
        for name, field in model.model_fields.items():
            out.append(f"| `{name}` | {_cell(_type_name(field.annotation))} | {_cell(_default(field))} | "
                       f"{_cell(docs.get(name, ''))} |")
        out.append("")
    return "\n".join(out)


def generated_files(repo: Path) -> dict[Path, str]:
    """Each generated file (absolute path) and the text it must hold."""
    return {repo / SCHEMA_PATH: schema_json(), repo / REFERENCE_PATH: reference_markdown()}


def stale_files(repo: Path) -> list[Path]:
    """The generated files under ``repo`` that are missing or differ from what the model generates."""
    stale = []
    for path, text in generated_files(repo).items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(path)
    return stale


def write_generated(repo: Path) -> list[Path]:
    """Write the generated files that changed; returns the paths written."""
    from gfwizard.atomic import atomic_write

    written = []
    for path in stale_files(repo):
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, generated_files(repo)[path].encode("utf-8"))
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """``python -m gfwizard.orgconfig_docs [--check] [REPO]``."""
    from gfwizard.paths import repo_root

    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    args = [a for a in args if a != "--check"]
    if any(a.startswith("-") for a in args) or len(args) > 1:  # e.g. --help: never taken for a repo path
        print("usage: python -m gfwizard.orgconfig_docs [--check] [REPO]", file=sys.stderr)
        return 2
    repo = Path(args[0]) if args else repo_root()
    if check:
        stale = stale_files(repo)
        for path in stale:
            print(f"stale: {path} (regenerate with `{REGENERATE_COMMAND}`)")
        return 1 if stale else 0
    for path in write_generated(repo):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
