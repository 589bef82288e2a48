# Two commands do all the set-up on a fresh machine (Python 3.9+ with venv, and make):
#   make lab    installs the course into .venv, writes your own copies of the lessons (the exercises, not the
#               answers) into my-notebooks/, and opens lesson 00 there in JupyterLab
#   make test   installs the course and the test and instructor tools into .venv and runs the whole fast test suite
#               (lint, unit tests, notebooks, and every lesson in JupyterLab in headless Chromium when Debian's
#               chromium is installed)
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --disable-pip-version-check --progress-bar on
LAB_STAMP := $(VENV)/.lab-installed
TEST_STAMP := $(VENV)/.test-installed
# Where `make lab` writes the learner's copies (ignored by git). Copies already there are never written over.
MY_NOTEBOOKS ?= my-notebooks
# TORCH=cpu installs PyTorch's CPU-only build first (far smaller than the default build with CUDA libraries).
TORCH ?=
TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu
LAB_ARGS ?=
# Jupyter refuses to start as root (containers, cloud machines) unless told that it is meant.
ROOT_ARGS := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: setup test-setup instructor-setup lab my-notebooks test lint format unit notebooks browser-test \
	screenshots benchmarks full-run fast-run student clean

# What learners need: the course package with PyTorch, and JupyterLab.
setup: $(LAB_STAMP)

$(LAB_STAMP): pyproject.toml
	@echo "== Creating the virtual environment $(VENV) and installing the course package with PyTorch and"
	@echo "== JupyterLab into it (the first time downloads PyTorch: a few minutes)."
	$(PYTHON) -m venv $(VENV)
ifeq ($(TORCH),cpu)
	$(PIP) torch torchvision --index-url $(TORCH_CPU_INDEX)
endif
	$(PIP) -e ".[lab]"
	touch $(LAB_STAMP)

# What the tests add: pytest, nbval, ruff, Playwright, the offline MNIST subset, and the instructor tools (the
# course_instructor package in instructor/, with nbgrader), because the tests build the student versions and grade
# submissions.
test-setup: $(TEST_STAMP)
instructor-setup: $(TEST_STAMP)

$(TEST_STAMP): $(LAB_STAMP) instructor/pyproject.toml
	@echo "== Installing the test and instructor tools into $(VENV)."
	$(PIP) -e ".[lab,test,instructor]" -e ./instructor
	touch $(TEST_STAMP)

# The learner's own copies of the lessons: new lessons are added, existing copies are never written over.
my-notebooks: setup
	$(PY) -m course_utils.learner_copies --into "$(MY_NOTEBOOKS)"

lab: my-notebooks
	$(VENV)/bin/jupyter lab --ServerApp.root_dir="$(CURDIR)" $(ROOT_ARGS) $(LAB_ARGS) "$(MY_NOTEBOOKS)/00_welcome.ipynb"

# The fast suite: style first (it fails early), then unit tests and every notebook in fast mode, in a fresh
# kernel each, with the checkpoints a run makes kept in a fresh folder so nothing left over hides a failure.
# tests/ includes the browser test (tests/browser: every lesson in JupyterLab, skipped without chromium) and
# the Colab versions test (lesson 03 with ipywidgets 7.7.1). Two processes share the work (TEST_WORKERS, one
# PyTorch thread each, so neither waits on the other's threads), file by file (--dist loadfile): a notebook's
# cells run in order in one kernel, and the browser test (the largest file) runs beside everything else.
TEST_WORKERS ?= 2
test: test-setup lint
	OMP_NUM_THREADS=1 COURSE_FAST=1 MPLBACKEND=Agg COURSE_CHECKPOINT_DIR=$$(mktemp -d) $(PY) -m pytest \
		-p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile \
		tests notebooks --nbval-lax --nbval-current-env --nbval-cell-timeout=600 --durations=10

lint: test-setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: test-setup
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

unit: test-setup
	COURSE_FAST=1 MPLBACKEND=Agg $(PY) -m pytest -p no:cacheprovider tests --ignore=tests/browser

notebooks: test-setup
	COURSE_FAST=1 MPLBACKEND=Agg COURSE_CHECKPOINT_DIR=$$(mktemp -d) $(PY) -m pytest -p no:cacheprovider \
		notebooks --nbval-lax --nbval-current-env --nbval-cell-timeout=600

# Every lesson in JupyterLab in headless Chromium (Debian's `chromium`), Run All in fast mode. Screenshots go to
# $(SCREENSHOTS) when set, else to a temporary folder the test prints.
SCREENSHOTS ?=
browser-test: test-setup
	COURSE_SCREENSHOT_DIR="$(SCREENSHOTS)" $(PY) -m pytest -p no:cacheprovider tests/browser --durations=10

# Refresh the lesson pictures in the README (assets/screenshots/NN_name.png) from a browser run.
screenshots: test-setup
	rm -rf build/screenshots
	COURSE_SCREENSHOT_DIR="$(CURDIR)/build/screenshots" $(PY) -m pytest -p no:cacheprovider tests/browser
	mkdir -p assets/screenshots
	cp build/screenshots/[0-9][0-9]_*.png assets/screenshots/

# Every benchmark in lesson order (the league table last: it reads the others' checkpoints), then the table of
# results in benchmarks/README.md. The validation searches behind the settings (benchmarks/*_search.py) run alone.
BENCHMARKS := pipeline_throughput classifier autoencoder_vs_pca vae_vs_pytorch_examples gan_quality dcgan_quality dcgan_ablation \
	wgan_quality wgan_vs_dcgan conditional_quality diffusion_quality guidance_quality latent_quality league_training league_table
benchmarks: setup
	for name in $(BENCHMARKS); do $(PY) benchmarks/$$name.py || exit 1; done
	$(PY) benchmarks/make_readme.py

# The whole course in full mode, in lesson order, each lesson in a fresh kernel, with one fresh checkpoint folder:
# benchmarks/results/full_run.json. Run it alone on the machine; RESUME=1 goes on after an interrupted run.
full-run: setup
	$(PY) benchmarks/full_run.py $(if $(RESUME),--resume,)

# The same in fast mode (COURSE_FAST=1, as CI runs the lessons): benchmarks/results/fast_run.json. The numbers a
# lesson's "What you should see" gives for fast mode are checked against it (tests/test_prose_numbers.py).
fast-run: setup
	$(PY) benchmarks/full_run.py --fast $(if $(RESUME),--resume,)

# The student version of every lesson (solutions and hidden tests removed, outputs cleared) in ./student/.
student: instructor-setup
	$(PY) -m course_instructor student-version student

# my-notebooks/ holds the learner's work: `clean` never removes it.
clean:
	rm -rf $(VENV) build *.egg-info instructor/build instructor/*.egg-info .pytest_cache .ruff_cache
