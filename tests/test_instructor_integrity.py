"""The grader cannot be gamed: checks run in fresh processes from the solution cells only, with the answer-key audit
and an integrity scan, time and memory limits per exercise, and lesson identity from metadata.

Each graded submission starts one sandbox (it imports PyTorch: seconds), so every submission is graded once per
session in a module-scoped fixture and the tests read the reports.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import nbformat
import pytest
import torch
from nbformat.v4 import new_code_cell

import course_utils
from course_instructor import __main__ as cli
from course_instructor.grading import (
    ERROR,
    FAILED,
    FLAGGED,
    OUT_OF_MEMORY,
    PASSED,
    PRACTICE,
    TIMED_OUT,
    expected_exercises,
    grade_notebook,
    grade_notebooks,
    notebook_lesson,
    submission_cells,
)
from course_instructor.integrity import (
    ANSWER_KEY,
    TAMPERING,
    AnswerKeyAudit,
    describe_uses,
    scan_solution,
)
from course_utils.exercise_layout import find_exercises, lesson_notebooks, read_notebook
from course_utils.exercises.core import CHECKERS
from course_utils.student_version import student_notebook

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
LESSONS = lesson_notebooks(NOTEBOOKS)
PATCH = "_real = check.negative_elbo\ncheck.negative_elbo = lambda fn: _real(reference.negative_elbo)\n"
WRONG_ELBO = '''def negative_elbo(logits, images, mu, log_var):
    """A wrong answer: the KL term is left out."""
    return F.binary_cross_entropy_with_logits(logits, images, reduction="none").flatten(1).sum(dim=1).mean()'''


def lesson(number: str) -> Path:
    return next(p for p in LESSONS if p.name.startswith(number))


def points(number: str) -> float:
    return sum(info.points for info in CHECKERS.values() if info.exercise_id.startswith(number + "."))


def solution_cell(nb, exercise_id: str) -> nbformat.NotebookNode:
    """The cell nbgrader's metadata names as the exercise's solution cell."""
    grade_id = f"ex{exercise_id.replace('.', '_')}_solution"
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def write(nb, path: Path) -> Path:
    nbformat.write(nb, str(path))
    return path


def define(nb, exercise_id: str, source: str) -> None:
    """Replace the body of an exercise's solution cell (its nbgrader metadata stays)."""
    solution_cell(nb, exercise_id).source = source


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    folder = tmp_path_factory.mktemp("integrity")
    vae = read_notebook(lesson("03"))
    out = {}

    # A: honest right (03.1, 03.4), honest wrong (03.2), and a wrong 03.3 with the two-line patch in its cell.
    a = copy.deepcopy(vae)
    define(
        a,
        "03.2",
        "def kl_divergence(mu, log_var):\n    return 0.5 * (mu.pow(2) + log_var.exp() - 1.0 - log_var)",
    )
    define(a, "03.3", PATCH + WRONG_ELBO)
    patched = write(a, folder / "03_patched.ipynb")

    # B: one-line answers from the package (03.1, 03.2), the patch in an added cell after a wrong 03.3 (the
    # added cell is not a solution cell: it never runs), and a crash inside PyTorch in 03.4.
    b = copy.deepcopy(vae)
    define(b, "03.1", "def reparameterize(mu, log_var):\n    return reference.reparameterize(mu, log_var)")
    define(b, "03.2", "def kl_divergence(mu, log_var):\n    return reference.kl_divergence(mu, log_var)")
    define(b, "03.3", WRONG_ELBO)
    b.cells.insert(b.cells.index(solution_cell(b, "03.3")) + 1, new_code_cell(PATCH))
    define(
        b,
        "03.4",
        "def sample_from_prior(decoder, n, latent_dim):\n"
        "    with torch.no_grad():\n"
        "        return torch.sigmoid(decoder(torch.randn(n, latent_dim + 1)))",
    )
    answer_key = write(b, folder / "03_answer_key.ipynb")
    student = write(
        student_notebook(read_notebook(lesson("00")), lesson("00").name), folder / "00_student.ipynb"
    )
    # A patch of PyTorch through a local alias, which the scan cannot see: the snapshot of torch catches it.
    alias = read_notebook(lesson("00"))
    define(
        alias,
        "00.1",
        "def flatten_batch(images):\n    t = torch\n    t.equal = lambda a, b: True\n    return images.reshape(len(images), -1)",
    )
    alias_path = write(alias, folder / "00_alias.ipynb")
    # Every instructor notebook, A, B, a student version and the alias, in one sandbox (PyTorch is imported once).
    graded = grade_notebooks([*LESSONS, patched, answer_key, student, alias_path], fast=True)
    out.update(zip([p.name for p in LESSONS], graded))
    out["patched"], out["answer_key"], out["student"], out["alias"] = graded[-4:]

    welcome = read_notebook(lesson("00"))
    # C: an endless loop in 00.1 and a runaway allocation in 00.2, each costing its own exercise only.
    c = copy.deepcopy(welcome)
    define(c, "00.1", "def flatten_batch(images):\n    while True:\n        pass")
    define(
        c,
        "00.2",
        "def to_minus_one_one(images):\n    kept = []\n    while True:\n        kept.append(torch.ones(2**20))",
    )
    out["limits"] = grade_notebook(write(c, folder / "00_limits.ipynb"), check_timeout=5, memory_gb=0.5)

    # D: --no-strict reports a flagged answer without zeroing it; a process that kills itself is attributed.
    d = copy.deepcopy(welcome)
    define(d, "00.1", "import gc\n\ndef flatten_batch(images):\n    return images.reshape(len(images), -1)")
    define(d, "00.2", "import os\n\ndef to_minus_one_one(images):\n    os.kill(os.getpid(), 9)")
    # The title no longer says which lesson this is, and nbgrader's metadata is gone from the solution cells.
    d.cells[0].source = "# My homework"
    for cell in d.cells:
        cell.metadata.pop("nbgrader", None)
    out["no_strict"] = grade_notebook(write(d, folder / "homework.ipynb"), strict=False)
    return out


def by_id(report):
    return {e.exercise_id: e for e in report.exercises}


@pytest.mark.parametrize("path", LESSONS, ids=[p.name for p in LESSONS])
def test_every_instructor_notebook_gets_full_marks_without_a_flag(reports, path):
    report = reports[path.name]
    assert report.problems == [] and report.cell_errors == []
    assert [e.exercise_id for e in report.exercises] == [
        e.exercise_id for e in find_exercises(read_notebook(path))[0]
    ]
    for e in report.exercises:  # an ungraded practice exercise is reported as such, its check passed
        wanted = (
            (PRACTICE, "ungraded practice (passed)")
            if CHECKERS[e.exercise_id].practice
            else (PASSED, "passed")
        )
        assert e.status == wanted[0] and e.feedback.startswith(wanted[1]) and not e.flags, (
            report.to_markdown()
        )
    assert report.score == report.max_score == points(path.name[:2])


def test_the_student_version_gets_zero_with_the_stub_s_feedback(reports):
    report = reports["student"]
    assert report.score == 0 and report.max_score == points("00") and report.problems == []
    assert all(e.status == FAILED and "not done yet" in e.feedback for e in report.exercises)


def test_a_patch_inside_a_wrong_solution_cell_scores_zero_for_that_exercise(reports):
    grades = by_id(reports["patched"])
    assert grades["03.3"].status == FLAGGED and grades["03.3"].points == 0
    assert f"{TAMPERING}: it changed course_utils.check.negative_elbo" in grades["03.3"].feedback
    assert (
        grades["03.2"].status == FAILED and grades["03.2"].points == 0
    )  # honest wrong: the checker's message
    assert "sum" in grades["03.2"].feedback
    assert grades["03.1"].status == PASSED and grades["03.4"].status == PASSED
    assert reports["patched"].score == points("03") - 5


def test_package_one_liners_and_a_patch_in_another_cell_score_zero(reports):
    grades = by_id(reports["answer_key"])
    for exercise_id, name in (("03.1", "reparameterize"), ("03.2", "kl_divergence")):
        assert grades[exercise_id].status == FLAGGED and grades[exercise_id].points == 0
        assert f"{ANSWER_KEY}: it called `course_utils.models.vae.{name}`" in grades[exercise_id].feedback
    # The patch in an added cell never ran: the wrong answer is graded as what it is.
    assert grades["03.3"].status == FAILED and grades["03.3"].points == 0
    assert "KL" in grades["03.3"].feedback or "kl" in grades["03.3"].feedback.lower()


def test_a_library_patched_through_a_local_alias_is_caught_at_run_time(reports):
    grades = by_id(reports["alias"])
    assert grades["00.1"].status == FLAGGED and grades["00.1"].points == 0
    assert "it changed torch.equal (undone before the check)" in grades["00.1"].feedback
    assert grades["00.2"].status == PASSED  # its own process: the patch never reached it


def test_a_crash_inside_pytorch_points_at_the_learner_s_line(reports):
    feedback = by_id(reports["answer_key"])["03.4"].feedback
    assert "RuntimeError" in feedback
    assert "torch.randn(n, latent_dim + 1)" in feedback and "submission cell" in feedback


def test_an_endless_loop_and_a_runaway_allocation_cost_their_own_exercise(reports):
    report = reports["limits"]
    grades = by_id(report)
    assert grades["00.1"].status == TIMED_OUT and "time limit of 5 s" in grades["00.1"].feedback
    assert "KeyboardInterrupt" not in report.to_markdown()
    assert grades["00.2"].status == OUT_OF_MEMORY and "0.5 GiB" in grades["00.2"].feedback
    assert any(p.startswith("Exercise 00.1:") for p in report.problems)
    assert any(p.startswith("Exercise 00.2:") and "memory" in p for p in report.problems)
    assert report.score == 0 and report.max_score == points("00")


def test_no_strict_reports_flags_and_a_dead_process_is_attributed(reports):
    report = reports["no_strict"]
    grades = by_id(report)
    assert report.lesson == "00"  # from the metadata, not the title
    assert grades["00.1"].status == PASSED and grades["00.1"].flags and grades["00.1"].points > 0
    assert any("00.1 was flagged (not zeroed" in p for p in report.problems)
    assert grades["00.2"].status == ERROR and "SIGKILL" in grades["00.2"].feedback
    assert "the check cell of exercise 00.2" in grades["00.2"].feedback


# ---------------------------------------------------------------- without a sandbox


@pytest.mark.parametrize(
    "source, finding",
    [
        ("import gc", "imports gc"),
        ("import inspect", "imports inspect"),
        ("import os\nos.kill(os.getppid(), 9)", "imports os"),
        ("exec('1')", "uses exec"),
        ("def f(g):\n    return g.__globals__", "uses .__globals__"),
        (
            "try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    f = e.__traceback__.tb_frame",
            "uses .tb_frame",
        ),
        ("torch.sys.settrace(None)", "uses .settrace"),
        (
            "class T(torch.Tensor):\n    def __torch_function__(self):\n        pass",
            "defines __torch_function__",
        ),
    ],
)
def test_the_scan_flags_what_reaches_the_grader_itself(source, finding):
    flags = scan_solution(source).flags
    assert any(f"{TAMPERING}: {finding}" in flag for flag in flags), flags


HONEST_SOURCES = {
    "local names like the course's imports": """def steering_step(z, generator, classifier, target, step_size):
    gan, conditional, diffusion, check, diag = generator, classifier, target, step_size, None
    z = z.detach().clone().requires_grad_(True)
    logits = conditional((gan(z) + 1) / 2)
    (grad,) = torch.autograd.grad(logits[:, diffusion].sum(), z)
    return (z + check * grad).detach()""",
    "the PyTorch DCGAN tutorial's weights_init": """def init_weights(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)""",
    "a name the cell binds is not the builtin": "def f(compile):\n    return compile(1)",
    "sys and math for a constant": "import math\nimport sys\n\ndef f(x):\n    return x + sys.float_info.epsilon * math.pi",
}


@pytest.mark.parametrize("source", HONEST_SOURCES.values(), ids=HONEST_SOURCES.keys())
def test_the_scan_never_looks_at_a_variable_s_name(source):
    assert scan_solution(source).flags == []


def test_the_scan_passes_every_instructor_solution():
    for path in LESSONS:
        nb = read_notebook(path)
        for exercise in find_exercises(nb)[0]:
            scan = scan_solution(nb.cells[exercise.solution_index].source)
            assert scan.flags == [], (path.name, exercise.exercise_id, scan.flags)


# ---------------------------------------------------------------- the audit, in this process

# Ways from a learner's function into course_utils.models.conditional.generator_input: each must be seen.
ROUTES = {
    "sys.modules through torch": "torch.sys.modules['course' + '_utils.models.conditional'].generator_input",
    "importlib": "importlib.import_module('course_utils.models.conditional').generator_input",
    "__import__": "__import__('course_utils.models.conditional', fromlist=['x']).generator_input",
    "globals()": "globals()['conditional'].generator_input",
    "a getattr chain": "getattr(getattr(course_utils, 'models'), 'conditional').generator_input",
    "vars()": "vars(conditional)['generator_input']",
    "an object's __module__": "torch.sys.modules[conditional.ConditionalGenerator.__module__].generator_input",
    "a function's module": "torch.sys.modules[train_cgan.__module__].generator_input",
}
COURSE_IMPORTS = """import importlib.util
import torch
import course_utils
from course_utils.models import conditional
from course_utils.models.conditional import train_cgan
"""


def learner_code(source: str, namespace: dict, label: str = "submission cell 5 (exercise 07.1)") -> None:
    """Run code as the grader runs a learner's solution cell (its frames carry the cell's name)."""
    exec(compile(source, f"<{label}>", "exec"), namespace)


@pytest.mark.parametrize("route", ROUTES.values(), ids=ROUTES.keys())
def test_the_audit_sees_the_answer_key_whatever_the_spelling(route):
    namespace: dict = {}
    exec(COURSE_IMPORTS, namespace)
    audit = AnswerKeyAudit()
    audit.install([namespace])
    try:
        learner_code(
            f"def generator_input(z, labels, num_classes=10):\n    return {route}(z, labels, num_classes)",
            namespace,
        )
        out = namespace["generator_input"](torch.zeros(2, 3), torch.tensor([0, 2]), 4)
    finally:
        audit.uninstall()
    assert out.shape == (2, 7)  # the answer key still answers: the audit only watches
    found = describe_uses(audit.uses)
    assert any("it called `course_utils.models.conditional.generator_input`" in f for f in found), found
    assert all("submission cell 5 (exercise 07.1)" in f for f in found)


def test_the_audit_restores_every_module_it_replaced():
    namespace: dict = {}
    exec(COURSE_IMPORTS, namespace)
    real = namespace["conditional"]
    audit = AnswerKeyAudit()
    audit.install([namespace])
    try:
        assert (
            namespace["conditional"] is not real
            and sys.modules["course_utils.models.conditional"] is not real
        )
    finally:
        audit.uninstall()
    assert namespace["conditional"] is real and sys.modules["course_utils.models.conditional"] is real
    assert course_utils.models.conditional is real


def test_the_audit_sees_a_read_of_the_answer_key_s_data_and_a_switched_off_trace():
    namespace: dict = {}
    exec("import torch\nfrom course_utils import gan_diagnostics as diag", namespace)
    audit = AnswerKeyAudit()
    audit.install([namespace])
    try:
        learner_code("answers = dict(diag._MYSTERY)\ntorch.sys.settrace(None)", namespace)
        switched_off = audit.tampered()
    finally:
        audit.uninstall()
    assert describe_uses(audit.uses) == [
        f"{ANSWER_KEY}: it read `course_utils.gan_diagnostics._MYSTERY` (from submission cell 5 (exercise 07.1), "
        "line 1)"
    ]
    assert switched_off and TAMPERING in switched_off


def test_the_checker_s_own_use_of_the_answer_key_is_not_the_learner_s():
    """04.5's checker computes the expected step with course_utils.models.gan; the learner's honest answer, called
    by that checker, uses nothing from the package."""
    from course_utils import check

    nb = read_notebook(lesson("04"))
    namespace: dict = {}
    exec("import torch\nimport torch.nn.functional as F\nfrom course_utils.models import gan", namespace)
    audit = AnswerKeyAudit()
    audit.install([namespace])
    try:
        for exercise_id in ("04.1", "04.2", "04.5"):
            learner_code(solution_cell(nb, exercise_id).source, namespace)
        assert check.train_step(namespace["train_step"]).passed
    finally:
        audit.uninstall()
    assert audit.uses == []


@pytest.mark.parametrize("number", ["00", "02", "03"])
def test_an_unreadable_file_is_an_error_with_the_lesson_s_full_total(tmp_path, number):
    junk = tmp_path / "submission.ipynb"
    junk.write_text("{ not json")
    for report in (
        grade_notebook(junk, lesson=number),
        grade_notebook(tmp_path / "missing.ipynb", lesson=number),
        grade_notebook(tmp_path / f"{number}_unreadable.ipynb"),  # missing; the file name says the lesson
    ):
        assert report.score == 0 and report.max_score == points(number) > 0
        assert all(e.status == ERROR for e in report.exercises)
        assert "Not a readable Jupyter notebook" in report.problems[0]
        assert f"**Score: 0 / {points(number):g} points**" in report.to_markdown()


def test_lesson_identity_comes_from_metadata_not_the_title():
    nb = read_notebook(lesson("02"))
    nb.cells[0].source = "# Homework (nbgrader's header hides the number)"
    check = next(e.check_index for e in find_exercises(nb)[0] if e.exercise_id == "02.5")
    del nb.cells[check]  # the learner deleted 02.5's check cell
    assert notebook_lesson(nb) == "02"
    expected = expected_exercises(notebook_lesson(nb), find_exercises(nb)[0])
    assert [e["id"] for e in expected] == sorted(i for i in CHECKERS if i.startswith("02."))
    assert sum(e["points"] for e in expected) == points("02")


def test_solution_cells_are_found_by_metadata_or_by_layout():
    nb = read_notebook(lesson("03"))
    exercises = {e.exercise_id: e for e in find_exercises(nb)[0]}
    solutions, checks = submission_cells(nb)
    assert solutions == {i: [e.solution_index] for i, e in exercises.items()}
    assert checks == {i: e.check_index for i, e in exercises.items()}
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
    assert submission_cells(nb) == (solutions, checks)


def test_grade_command_strict_options(tmp_path, capsys):
    junk = tmp_path / "x.ipynb"
    junk.write_text("junk")
    assert cli.main(["grade", str(junk), "--lesson", "02", "--no-strict", "--check-timeout", "5"]) == 0
    assert f"0 / {points('02'):g} points" in capsys.readouterr().out
    assert cli.parser().parse_args(["grade", str(junk)]).strict is True


def test_the_grader_runs_the_instructor_s_hidden_tests_on_a_student_submission(tmp_path):
    """A learner fills in the student version (no hidden tests in it); the grader runs the instructor's check cells,
    hidden tests included. Here the instructor's hidden test for 00.1 fails on purpose, so its effect shows."""
    source_nb = read_notebook(lesson("00"))
    check_cell = next(
        c for c in source_nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex00_1_check"
    )
    assert "### BEGIN HIDDEN TESTS" in check_cell.source  # the lesson's real hidden test
    check_cell.source = check_cell.source.replace(
        "### END HIDDEN TESTS",
        'assert flatten_batch(_images) is None, "hidden_test_ran"\n### END HIDDEN TESTS',
    )
    (tmp_path / "source").mkdir()
    source = write(source_nb, tmp_path / "source" / lesson("00").name)
    learner = student_notebook(read_notebook(lesson("00")), lesson("00").name)
    assert "HIDDEN" not in nbformat.writes(learner)
    for exercise_id in ("00.1", "00.2"):  # the learner writes the right answers into the stubs
        solution_cell(learner, exercise_id).source = solution_cell(
            read_notebook(lesson("00")), exercise_id
        ).source
    report = grade_notebook(write(learner, tmp_path / "alice.ipynb"), source=source)
    grades = by_id(report)
    assert grades["00.1"].status == FAILED and "hidden test then failed" in grades["00.1"].feedback
    assert "hidden_test_ran" in grades["00.1"].feedback
    assert grades["00.2"].status == PASSED
