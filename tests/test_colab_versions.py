"""The course on Colab's versions: Colab's preinstalled packages satisfy our ranges (so the setup cell's
``pip install`` changes nothing and needs no runtime restart), and the widgets and lesson 03 (the widget lesson)
work with Colab's ipywidgets 7.7.1.

Colab's versions are those of its runtime image as published in https://github.com/googlecolab/backend-info
(``pip-freeze.txt``, ``pip-freeze.gpu.txt``, ``os-info.txt`` and the README's list of past runtime versions) at
commit a72407924822ea377410b69f0a290150bcb5c9c2 ("Upgrade to Python 3.13", 2026-08-19). Update ``COLAB`` from
there when Colab moves on.

The ipywidgets 7.7.1 run installs it (and ``ipython_genutils``, which it imports) with ``pip install --target``
into a folder of its own and puts that folder first on ``PYTHONPATH`` of a child pytest, so the environment the
rest of the suite uses is untouched. ``--no-deps``: ipywidgets' other dependencies (IPython, ipykernel, traitlets)
are the environment's, and its front-end packages (widgetsnbextension, jupyterlab_widgets) play no part in a
kernel. The install needs the package registry; without it the test is skipped, except in CI.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from .browser.lab import in_ci

try:
    import tomllib
except ImportError:  # Python < 3.11
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
WIDGET_LESSON = ROOT / "notebooks" / "03_variational_autoencoders.ipynb"

# Colab's runtime (googlecolab/backend-info at a72407924822, 2026-08-19; the 2026.07 runtime had Python 3.12.13
# and the same torch). GPU runtimes have the same versions with +cu128 builds of torch and torchvision.
COLAB = {
    "python": ["3.13.15", "3.12.13"],
    "torch": "2.11.0",
    "torchvision": "0.26.0",
    "numpy": "2.1.3",
    "matplotlib": "3.10.0",
    "ipywidgets": "7.7.1",
    "tqdm": "4.67.3",
    "mlxtend": "0.23.4",
    "ipython": "7.34.0",
    "ipykernel": "6.17.1",
    "pillow": "11.3.0",
}
COLAB_IPYWIDGETS = COLAB["ipywidgets"]
# Requirements Colab does not preinstall: pip adds them as new packages (lesson 08 uses torchmetrics). Adding is
# harmless, replacing is not: each one's own requirements that Colab has must be met by Colab's versions, so that
# pip adds only new packages (here torchmetrics and lightning-utilities) and the runtime needs no restart.
COLAB_ADDS = {"torchmetrics"}


def test_colab_preinstalled_packages_satisfy_the_course_requirements():
    """The setup cell runs ``pip install <course>`` on Colab: it must find every requirement already met."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    python = SpecifierSet(project["requires-python"])
    for version in COLAB["python"]:
        assert python.contains(version), f"requires-python {python} excludes Colab's Python {version}"
    for line in project["dependencies"]:
        requirement = Requirement(line)
        name = requirement.name.lower()
        if name in COLAB_ADDS:
            _assert_adds_only_new_packages(name)
            continue
        assert name in COLAB, (
            f"{name} is not preinstalled on Colab (as of the versions in COLAB): pip would add it"
        )
        assert requirement.specifier.contains(COLAB[name]), (
            f"{line!r} is not met by Colab's {name} {COLAB[name]}: pip would replace a package Colab has "
            "already imported, and the learner would have to restart the runtime"
        )


def _assert_adds_only_new_packages(name: str) -> None:
    """The installed ``name``'s own requirements (extras aside) that Colab has are met by Colab's versions."""
    from importlib.metadata import requires

    for line in requires(name) or []:
        requirement = Requirement(line)
        if requirement.marker is not None and "extra" in str(requirement.marker):
            continue
        dependency = requirement.name.lower()
        if dependency in COLAB:
            assert requirement.specifier.contains(COLAB[dependency]), (
                f"{name} needs {line!r}, which Colab's {dependency} {COLAB[dependency]} does not meet: pip would "
                "replace a package Colab has already imported"
            )


def test_the_setup_cell_installs_without_replacing_colabs_packages():
    """Only ``pip install -q <course>``: no upgrade or reinstall flag that would replace what Colab imported."""
    from course_utils.meta import setup_source

    pip_lines = [line for line in setup_source().splitlines() if '"pip", "install"' in line]
    assert len(pip_lines) == 1, "the setup cell should call pip install once"
    for flag in ("--upgrade", '"-U"', "--force-reinstall", "--ignore-installed", "=="):
        assert flag not in pip_lines[0], f"the setup cell's pip install uses {flag}: {pip_lines[0].strip()}"


def colab_widgets_folder() -> Path:
    """ipywidgets 7.7.1 in a folder of its own (cached beside the virtual environment), installed once."""
    folder = Path(
        os.environ.get("COURSE_COLAB_WIDGETS_DIR", Path(sys.prefix) / f"colab-ipywidgets-{COLAB_IPYWIDGETS}")
    )
    if (folder / "ipywidgets" / "__init__.py").exists():
        return folder
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps"]
    command += ["--target", str(folder), f"ipywidgets=={COLAB_IPYWIDGETS}", "ipython_genutils"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        reason = (
            f"could not install ipywidgets {COLAB_IPYWIDGETS} (no package registry?): {result.stderr[-500:]}"
        )
        if in_ci():
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return folder


def test_widgets_and_the_widget_lesson_run_with_colabs_ipywidgets(tmp_path):
    folder = colab_widgets_folder()
    # A one-cell notebook run in the same child pytest proves that the kernels, too, import ipywidgets 7.7.1.
    probe = nbformat.v4.new_notebook()
    probe.cells.append(
        nbformat.v4.new_code_cell(
            f"import ipywidgets\nassert ipywidgets.__version__ == {COLAB_IPYWIDGETS!r}, ipywidgets.__version__"
        )
    )
    probe_path = tmp_path / "kernel_has_colab_ipywidgets.ipynb"
    nbformat.write(probe, probe_path)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(folder)] + [p for p in [env.get("PYTHONPATH")] if p])
    env.update(COURSE_FAST="1", MPLBACKEND="Agg", COURSE_CHECKPOINT_DIR=tempfile.mkdtemp(dir=tmp_path))
    version = subprocess.run(
        [sys.executable, "-c", "import ipywidgets; print(ipywidgets.__version__)"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert version == COLAB_IPYWIDGETS, f"the child process imports ipywidgets {version}"
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        "-W",
        "ignore::DeprecationWarning",
    ]
    command += [str(ROOT / "tests" / "test_widgets.py"), str(probe_path), str(WIDGET_LESSON)]
    command += ["--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout=600", f"--rootdir={ROOT}"]
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, (
        f"with ipywidgets {COLAB_IPYWIDGETS}:\n{result.stdout[-4000:]}{result.stderr[-2000:]}"
    )
