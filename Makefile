# Two commands do all the set-up on a fresh machine (Python 3.9+ with venv, and make):
#   make lab    installs everything into .venv and opens the course in JupyterLab
#   make test   installs everything into .venv and runs the whole fast test suite (lint, unit tests, notebooks,
#               and every lesson in JupyterLab in headless Chromium when Debian's chromium is installed)
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
INSTRUCTOR_STAMP := $(VENV)/.instructor-installed
LAB_ARGS ?=
# Jupyter refuses to start as root (containers, cloud machines) unless told that it is meant.
ROOT_ARGS := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: setup instructor-setup lab test lint format unit notebooks browser-test screenshots benchmarks student clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@echo "== Creating the virtual environment $(VENV) and installing the course package with PyTorch, JupyterLab"
	@echo "== and the test tools into it (the first time downloads PyTorch: a few minutes)."
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check --progress-bar on -e ".[test,lab]"
	touch $(STAMP)

# The instructor tools' extra (nbgrader, for the student version); learners never need it, so `lab` skips it.
instructor-setup: $(INSTRUCTOR_STAMP)

$(INSTRUCTOR_STAMP): $(STAMP)
	@echo "== Installing the instructor tools (nbgrader): the tests check the student versions and grading."
	$(PY) -m pip install --disable-pip-version-check --progress-bar on -e ".[instructor]"
	touch $(INSTRUCTOR_STAMP)

lab: setup
	$(VENV)/bin/jupyter lab --ServerApp.root_dir="$(CURDIR)" $(ROOT_ARGS) $(LAB_ARGS) notebooks/00_welcome.ipynb

# The fast suite: style first (it fails early), then unit tests and every notebook in fast mode, in a fresh
# kernel each, with the checkpoints a run makes kept in a fresh folder so nothing left over hides a failure.
# tests/ includes the browser test (tests/browser: every lesson in JupyterLab, skipped without chromium) and
# the Colab versions test (lesson 03 with ipywidgets 7.7.1).
test: setup instructor-setup lint
	COURSE_FAST=1 MPLBACKEND=Agg COURSE_CHECKPOINT_DIR=$$(mktemp -d) $(PY) -m pytest -p no:cacheprovider \
		tests notebooks --nbval-lax --nbval-current-env --nbval-cell-timeout=600 --durations=10

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: setup
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

unit: setup instructor-setup
	COURSE_FAST=1 MPLBACKEND=Agg $(PY) -m pytest -p no:cacheprovider tests --ignore=tests/browser

notebooks: setup
	COURSE_FAST=1 MPLBACKEND=Agg COURSE_CHECKPOINT_DIR=$$(mktemp -d) $(PY) -m pytest -p no:cacheprovider \
		notebooks --nbval-lax --nbval-current-env --nbval-cell-timeout=600

# Every lesson in JupyterLab in headless Chromium (Debian's `chromium`), Run All in fast mode. Screenshots go to
# $(SCREENSHOTS) when set, else to a temporary folder the test prints.
SCREENSHOTS ?=
browser-test: setup
	COURSE_SCREENSHOT_DIR="$(SCREENSHOTS)" $(PY) -m pytest -p no:cacheprovider tests/browser --durations=10

# Refresh the lesson pictures in the README (assets/screenshots/NN_name.png) from a browser run.
screenshots: setup
	rm -rf build/screenshots
	COURSE_SCREENSHOT_DIR="$(CURDIR)/build/screenshots" $(PY) -m pytest -p no:cacheprovider tests/browser
	mkdir -p assets/screenshots
	cp build/screenshots/[0-9][0-9]_*.png assets/screenshots/

benchmarks: setup
	for script in benchmarks/*.py; do $(PY) $$script || exit 1; done

# The student version of every lesson (solutions and hidden tests removed, outputs cleared) in ./student/.
student: instructor-setup
	$(PY) -m course_utils.instructor student-version student

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
