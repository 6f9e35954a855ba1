"""Warnings about a valid ``organization.yaml``: settings the schema accepts that the decision advises against.

A warning never makes a file invalid (``config validate`` still exits 0); it is said by ``config validate``,
``doctor`` (in its config section) and ``deploy`` of the environment concerned, each with the line to add.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gfwizard.checks import Check, warned

if TYPE_CHECKING:
    from gfwizard.orgconfig import OrgConfig

#: Words that make an environment's name say production (``prod``, ``production``, ``prd``, or one of them as a
#: ``-``-separated part, as in ``prod-eu``).
PRODUCTION_WORDS = frozenset({"prod", "production", "prd"})


def says_production(name: str) -> bool:
    """True when the environment name ``name`` says production (see :data:`PRODUCTION_WORDS`)."""
    return any(part in PRODUCTION_WORDS for part in name.lower().split("-"))


def confirmation_check(cfg: "OrgConfig", env: str, where: str = "organization.yaml") -> Check | None:
    """A warning when ``env`` says production and lacks ``require_confirmation: true`` (None otherwise);
    ``where``: the file its remedy names."""
    if not says_production(env) or cfg.environments[env].require_confirmation:
        return None
    return warned(
        f"confirmation [{env}]",
        f"environment {env!r} is named as production but does not set require_confirmation: an apply to it asks "
        f"only yes/no ([y/N] on a terminal), where production needs its name typed",
        remedy=f"add the line `require_confirmation: true` under `{env}:` in the environments section of {where} "
               "(indented like its `tfvars:` line; in a one-line environment, `require_confirmation: true` inside "
               "its braces)")


def config_warnings(cfg: "OrgConfig", where: str = "organization.yaml") -> list[Check]:
    """Every warning about ``cfg`` (empty when there is nothing to say); ``where``: the file remedies name."""
    return [check for env in cfg.environments if (check := confirmation_check(cfg, env, where)) is not None]
