"""The set-up files agree: pyproject.toml and environment.yml list the same packages and lower bounds, and CI
runs the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python < 3.11
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch", "playwright-python": "playwright"}  # conda-forge name -> PyPI name
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(>=\s*[0-9.]+)?")


def parse(requirement: str) -> tuple[str, str]:
    match = REQUIREMENT.match(requirement)
    name = match.group(1).lower().replace("_", "-")
    return CONDA_NAMES.get(name, name), (match.group(2) or "").replace(" ", "")


def pyproject_requirements() -> dict:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    learner_extras = {"test", "lab"}  # the instructor extra (nbgrader) is not in the learners' environment
    wanted = list(project["dependencies"])
    for extra, packages in project.get("optional-dependencies", {}).items():
        if extra in learner_extras:
            wanted += packages
    return dict(parse(r) for r in wanted)


def conda_requirements() -> dict:
    found = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        item = re.match(r"^  - ([^\s:#]+)\s*$", line)  # top-level dependencies only, not the pip: section
        if item and item.group(1) not in ("pip", "conda-forge", "nodefaults"):
            name, bound = parse(item.group(1))
            if name != "python":
                found[name] = bound
    return found


def test_pyproject_and_environment_yml_agree():
    pip, conda = pyproject_requirements(), conda_requirements()
    assert set(pip) == set(conda), (
        f"only in pyproject: {set(pip) - set(conda)}; only in conda: {set(conda) - set(pip)}"
    )
    assert {k: pip[k] for k in pip} == {k: conda[k] for k in pip}, "lower bounds differ"


def test_dependencies_are_ranges_not_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    everything = project["dependencies"] + sum(project.get("optional-dependencies", {}).values(), [])
    pinned = [r for r in everything if "==" in r or "<" in r]
    assert not pinned, f"Colab brings its own versions: use lower bounds, not pins: {pinned}"
    ipywidgets = next(r for r in project["dependencies"] if r.startswith("ipywidgets"))
    assert parse(ipywidgets)[1] < ">=8", "Colab imports ipywidgets 7.x at start: do not require 8"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make lab" in readme
    assert re.search(r"^make test$", ci, re.MULTILINE), ".ci/run must call the README's test command"


def installed_closure(distribution: str, extras: set) -> set:
    """Every installed distribution that ``distribution[extras]`` pulls in, by its requirements' markers."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen, todo = set(), [(distribution, frozenset(extras))]
    while todo:
        name, wanted = todo.pop()
        key = (canonicalize_name(name), wanted)
        if key in seen:
            continue
        seen.add(key)
        try:
            requirements = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue  # not installed here (another platform's dependency): nothing to follow
        for text in requirements:
            requirement = Requirement(text)
            if requirement.marker is None or any(
                requirement.marker.evaluate({"extra": extra}) for extra in ("", *wanted)
            ):
                todo.append((requirement.name, frozenset(requirement.extras)))
    return {name for name, _ in seen}


def test_the_lab_extra_pulls_in_no_test_or_instructor_tool():
    """What `make lab` installs for a learner: no pytest, Playwright, ruff, nbval, nbgrader or mlxtend."""
    pytest.importorskip("packaging")
    closure = installed_closure("course-utils", {"lab"})
    assert {"torch", "jupyterlab", "nbformat"} <= closure, "the walk must reach what lab does install"
    developer_tools = {"pytest", "playwright", "ruff", "nbval", "nbgrader", "mlxtend"}
    assert not closure & developer_tools, f"`.[lab]` pulls in {sorted(closure & developer_tools)}"
