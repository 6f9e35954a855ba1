"""Fault-campaign fixtures and the ``--runs N`` soak knob.

``--runs N`` (default 1) repeats every campaign test that takes the ``run`` fixture N times, each
repetition a separate test with fresh fixtures (workspace, bucket, checkout copy)::

    .venv/bin/python -m pytest tests/faults/test_interrupts.py --runs 5

The option is registered here, so pass it with a path under ``tests/faults``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from tests.faults import helpers as h


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runs", action="store", type=int, default=1, metavar="N",
                     help="fault campaign: repeat each scenario N times (default 1)")


def runs_option(config: pytest.Config) -> int:
    """The ``--runs`` value (1 when the option is not registered, e.g. run from another directory)."""
    try:
        value = int(config.getoption("--runs"))
    except (ValueError, TypeError):
        value = 1
    if value < 1:
        raise pytest.UsageError("--runs must be at least 1")
    return value


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "run" in metafunc.fixturenames:
        count = runs_option(metafunc.config)
        metafunc.parametrize("run", range(1, count + 1), ids=[f"run{i}" for i in range(1, count + 1)])


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A throwaway checkout with ``tofu/rehearsal`` (``GFW_REPO`` points at it): terraform writes
    ``errored.tfstate`` into the stack directory, which must never be the shared checkout."""
    root = h.repo_copy(tmp_path)
    monkeypatch.setenv("GFW_REPO", str(root))
    return root


@pytest.fixture(scope="session")
def reference_states(tmp_path_factory: pytest.TempPathFactory, honey: Any, s3: Any) -> Callable[..., dict[str, Any]]:
    """``reference(stacks, **tf_vars)`` -> ``{stack: normalised state}`` of an uninterrupted
    ``gfwizard deploy --env dev --yes`` of ``stacks`` into a fresh bucket (computed once per
    combination and cached for the session): what an interrupted-then-resumed rollout must equal."""
    from gfwizard.rehearsal.workspace import prepare_workspace

    cache: dict[tuple[Any, ...], dict[str, Any]] = {}

    def reference(stacks: tuple[str, ...], **tf_vars: str) -> dict[str, Any]:
        key = (stacks, tuple(sorted(tf_vars.items())))
        if key not in cache:
            # The test's own deploy runs in honey; a fresh bucket beside it would be stopped by the
            # "running without state" gate. Its workloads are created again by the reference run.
            honey.drop_deployed_namespaces()
            directory = tmp_path_factory.mktemp("reference")
            files = prepare_workspace(directory / "rehearsal", api=honey, s3=s3)
            env = {**os.environ, **files.env, "GFW_REPO": str(h.repo_copy(directory))}
            env.update({f"TF_VAR_{k}": v for k, v in tf_vars.items()})
            args = ["--env", "dev", "--yes", "--json"] + [a for s in stacks for a in ("--stack", s)]
            proc = h.run_deploy(args, env)
            assert proc.proc.returncode == 0, f"the reference run failed: {proc.stdout[-3000:]}{proc.stderr[-3000:]}"
            client = s3.client()
            cache[key] = {s: h.normalised_state(h.current_state(client, files.bucket, "dev", s)) for s in stacks}
        return cache[key]

    return reference


@pytest.fixture(autouse=True)
def no_leftover_deploys() -> Iterator[None]:
    """A deploy a failing test left running is stopped (gracefully first) before the next test."""
    yield
    h.stop_leftovers()
