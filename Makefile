# Two set-up commands (see README): `make rehearse` and `make test`.
# Both create .venv from the pinned set in requirements/constraints.txt when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: rehearse test serve venv clean

$(STAMP): pyproject.toml requirements/constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements/constraints.txt -e '.[test]'
	# An editable install compiles nothing, and with PYTHONDONTWRITEBYTECODE set every start would.
	$(BIN)/python -m compileall -q gfwizard screens >/dev/null
	touch $(STAMP)

venv: $(STAMP)

rehearse: $(STAMP)
	$(BIN)/gfwizard rehearse

serve: $(STAMP)
	$(BIN)/gfwizard rehearse --serve

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
