"""The attribute docstrings of ``organization.yaml``'s models, read from their source on demand.

Each field of :mod:`gfwizard.orgconfig` is documented by the string under it. pydantic can collect
those at class creation (``use_attribute_docstrings``), but it parses the module's source once per
model to do so: about 25 ms of every command that loads a config, for text only the JSON Schema
(:func:`gfwizard.orgconfig.schema_json`) and the generated reference (:mod:`gfwizard.orgconfig_docs`)
show. Both read it from here instead, as pydantic would have: the string literal right after a
field's annotated assignment, cleaned with :func:`inspect.cleandoc`.
"""

from __future__ import annotations

import ast
import inspect
from functools import cache
from pathlib import Path
from typing import Any


@cache
def field_docs() -> dict[str, dict[str, str]]:
    """``{model class name: {field name: docstring}}`` for every class of :mod:`gfwizard.orgconfig`."""
    from gfwizard import orgconfig

    tree = ast.parse(Path(orgconfig.__file__).read_text(encoding="utf-8"))
    docs: dict[str, dict[str, str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        fields: dict[str, str] = {}
        for stmt, after in zip(node.body, node.body[1:]):
            if (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
                    and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                    and isinstance(after.value.value, str)):
                fields[stmt.target.id] = inspect.cleandoc(after.value.value)
        docs[node.name] = fields
    return docs


def describe_schema(schema: dict[str, Any], root: str) -> dict[str, Any]:
    """``schema`` (a ``model_json_schema()`` of the model named ``root``) with each documented field's
    ``description``, placed as pydantic places it (keys of a property sorted); changed in place."""
    docs = field_docs()
    defs = schema.get("$defs", {})
    for name, definition in [(root, schema), *defs.items()]:
        for field, spec in definition.get("properties", {}).items():
            doc = docs.get(name, {}).get(field)
            # pydantic leaves out a description a reference already carries (its model's docstring).
            referenced = defs.get(str(spec.get("$ref", "")).rpartition("/")[2], {})
            if doc and "description" not in spec and referenced.get("description") != doc:
                definition["properties"][field] = dict(sorted({**spec, "description": doc}.items()))
    return schema
