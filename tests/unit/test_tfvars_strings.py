"""``tfvars_strings`` reads the stacks' flat tfvars without the HCL parser, and gives the parser's answer:
for every tfvars file in the checkout, and for the shapes the simple reader declines (which then go to
the parser)."""

from __future__ import annotations

import pytest

from gfwizard.audit_hcl import HclError, parse
from gfwizard.status_expected import simple_tfvars_strings, tfvars_strings
from tests.helpers import REPO


def _parser(text: str) -> dict[str, str]:
    try:
        nodes = parse(text)
    except HclError:
        return {}
    return {n.name: n.value for n in nodes if n.kind == "attribute" and isinstance(n.value, str)}


@pytest.mark.parametrize("path", sorted(REPO.glob("tofu/**/*.tfvars")), ids=lambda p: str(p.relative_to(REPO)))
def test_every_checkout_tfvars_is_read_simply_and_as_the_parser_reads_it(path) -> None:  # type: ignore[no-untyped-def]
    text = path.read_text(encoding="utf-8")
    simple = simple_tfvars_strings(text)
    assert simple is not None, "the simple reader declined a stack's tfvars"
    assert simple == _parser(text) and simple["environment"] in ("dev", "prod")


ACCEPTED = [
    'a = "x"\nb = 2\nc = true\n',
    '# c\n// d\na = "x" # inline, with "quotes" and a # inside\n',
    'm = {\n  "k.io/role" = "bumble"\n  inner = "not top-level"\n}\nn = "after"\n',
    'l = ["a", "b",\n  "c"]\none = { a = "{" }\nz = "}"\n',
    'empty = ""\nneg = -1.5\nnothing = null\n',
]
DECLINED = [
    'a = "line\\nbreak"\n',                     # an escape
    'a = "${var.x}"\n',                        # a template (not allowed in tfvars: the parser says so)
    'a = <<EOT\nhello\nEOT\n',                 # a heredoc
    '/* block */\na = "x"\n',                  # a block comment
    'a = "x"\na = "y"\n',                      # a repeated name
    'block "label" {\n  a = "x"\n}\n',         # a block
    'm = {\n  a = "x"\n',                      # brackets that do not close
    'a = "unterminated\n',                     # a string that does not end
    'a = "x" "y"\n',                           # two values
    'a = upper("x")\n',                        # a function call
]


@pytest.mark.parametrize("text", ACCEPTED)
def test_what_the_simple_reader_reads_equals_the_parser(text: str) -> None:
    assert simple_tfvars_strings(text) == _parser(text) == tfvars_strings(text)


@pytest.mark.parametrize("text", DECLINED)
def test_what_the_simple_reader_declines_goes_to_the_parser(text: str) -> None:
    assert simple_tfvars_strings(text) is None
    assert tfvars_strings(text) == _parser(text)
