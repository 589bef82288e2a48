"""Grade a learner's submitted notebook without nbgrader.

The notebook runs top to bottom in a fresh kernel (errors allowed, so later exercises still run; a time limit per
cell and in total). Before the learner's cells, the grader runs one cell of its own that makes the kernel write
every ``CheckResult`` to a file as it is recorded, so results survive a crash, an endless loop or a dead kernel.
After each cell the grader reads the new results and attributes them to that cell: an exercise's grade is what
its own check cell recorded (a checker demonstrated elsewhere, e.g. on a wrong answer in a ``try``, does not
count). A check cell that raises anything else after its checker passed (e.g. a hidden test) fails the exercise,
as in nbgrader.

Whatever the submission does, the result is a :class:`GradeReport`, never an exception.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import nbformat

from .layout import Exercise, checkers, exercise_sort_key, find_exercises, lesson_number

PASSED, FAILED, NOT_CHECKED = "passed", "failed", "not checked"
TIMEOUT_ERROR = "CellTimeoutError"

RECORDER_SOURCE = """\
import course_utils.exercises.core as _grader_core


class _GraderRecorder(list):
    def append(self, result):
        import json

        super().append(result)
        record = {{
            "exercise_id": result.exercise_id, "name": result.name, "passed": bool(result.passed),
            "message": str(result.message), "points": float(result.points), "max_points": float(result.max_points),
        }}
        with open({path!r}, "a", encoding="utf-8") as file:
            file.write(json.dumps(record) + "\\n")


_grader_core.RESULTS = _GraderRecorder(_grader_core.RESULTS)
del _GraderRecorder, _grader_core
"""


@dataclass
class ExerciseGrade:
    exercise_id: str
    name: str
    status: str  # passed, failed or not checked
    points: float
    max_points: float
    feedback: str


@dataclass
class GradeReport:
    """The grade of one submission: one line per exercise, and what went wrong while running it."""

    submission: str
    exercises: List[ExerciseGrade] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)  # the run itself: unreadable, timeouts, dead kernel
    cell_errors: List[str] = field(default_factory=list)  # other cells that raised
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return sum(e.points for e in self.exercises)

    @property
    def max_score(self) -> float:
        return sum(e.max_points for e in self.exercises)

    def to_dict(self) -> Dict:
        return {
            "submission": self.submission,
            "score": self.score,
            "max_score": self.max_score,
            "exercises": [asdict(e) for e in self.exercises],
            "problems": list(self.problems),
            "cell_errors": list(self.cell_errors),
            "seconds": round(self.seconds, 1),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def to_markdown(self) -> str:
        passed = sum(e.status == PASSED for e in self.exercises)
        lines = [
            f"# Grade report: {Path(self.submission).name}",
            "",
            f"**Score: {_fmt(self.score)} / {_fmt(self.max_score)} points** ({passed} of {len(self.exercises)} "
            f"exercises passed; run took {self.seconds:.1f} s)",
            "",
        ]
        if self.exercises:
            lines += ["| Exercise | Function | Result | Points | Feedback |", "|---|---|---|---:|---|"]
            marks = {PASSED: "✅ passed", FAILED: "❌ failed", NOT_CHECKED: "⚠️ not checked"}
            for e in self.exercises:
                lines.append(
                    f"| {e.exercise_id} | `{e.name}` | {marks[e.status]} | {_fmt(e.points)} / {_fmt(e.max_points)} "
                    f"| {_cell_text(e.feedback)} |"
                )
        else:
            lines.append("No exercise found in this submission.")
        for title, items in (
            ("Problems while running", self.problems),
            ("Errors in other cells", self.cell_errors),
        ):
            if items:
                lines += ["", f"## {title}", ""] + [f"- {item}" for item in items]
        if self.problems or self.cell_errors:
            lines += ["", "Cells are numbered from 1 in the submitted notebook, Markdown cells included."]
        return "\n".join(lines) + "\n"


def _fmt(points: float) -> str:
    return str(int(points)) if float(points).is_integer() else f"{points:g}"


def _cell_text(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _first_line(source: str, width: int = 60) -> str:
    line = next((s.strip() for s in source.splitlines() if s.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"


def _error_of(cell: nbformat.NotebookNode) -> Optional[Dict]:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return output
    return None


def _error_text(error: Dict) -> str:
    value = " ".join(str(error.get("evalue", "")).split())
    value = value if len(value) <= 300 else value[:299] + "…"
    return f"{error.get('ename', 'Error')}: {value}" if value else str(error.get("ename", "Error"))


def _current_python_kernel_manager():
    """A kernel manager class that starts this very Python (the one that has course_utils), whatever
    kernelspecs are installed, like nbval's --nbval-current-env."""
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from traitlets import default

    class CurrentPythonSpecs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            return KernelSpec(
                argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                display_name="Python (course grader)",
                language="python",
            )

    class CurrentPythonKernelManager(AsyncKernelManager):
        @default("kernel_spec_manager")
        def _current_python_specs(self) -> KernelSpecManager:
            return CurrentPythonSpecs(data_dir=self.data_dir)

    return CurrentPythonKernelManager


class _Run:
    """Executes a notebook cell by cell and collects, per cell, the check results it recorded."""

    def __init__(self, nb, workdir: Path, timeout: float, cell_timeout: float, env: Dict[str, str]):
        from nbclient import NotebookClient

        self.nb, self.env, self.problems = nb, env, []
        self.recorder = nbformat.v4.new_code_cell("")  # cell 0 of the run; the learner's cells follow it
        running = nbformat.v4.new_notebook(cells=[self.recorder, *nb.cells], metadata=nb.metadata)
        self.results_by_cell: Dict[int, List[Dict]] = {}
        self.timed_out: set = set()  # indices of the learner's cells interrupted at their time limit
        self.deadline = time.monotonic() + timeout
        self.timeout, self.cell_timeout = timeout, cell_timeout
        self.results_file = Path(tempfile.mkdtemp(prefix="course-grade-")) / "results.jsonl"
        self.results_file.touch()
        self.client = NotebookClient(
            running,
            kernel_name="python3",
            kernel_manager_class=_current_python_kernel_manager(),
            timeout_func=self._cell_limit,
            on_cell_executed=self._note_timeout,
            allow_errors=True,
            interrupt_on_timeout=True,
            error_on_timeout={"ename": TIMEOUT_ERROR, "evalue": "", "traceback": []},
            shutdown_kernel="immediate",
            startup_timeout=120,
            resources={"metadata": {"path": str(workdir)}},
        )

    def _cell_limit(self, cell) -> int:
        remaining = self.deadline - time.monotonic()
        limit = remaining if cell is self.recorder else min(self.cell_timeout, remaining)  # it imports torch
        return max(1, int(limit + 0.999))

    def _note_timeout(self, cell, cell_index: int, execute_reply) -> None:
        if (execute_reply or {}).get("content", {}).get("ename") == TIMEOUT_ERROR:
            self.timed_out.add(cell_index - 1)

    def _new_results(self, already: int) -> List[Dict]:
        records = []
        for line in self.results_file.read_text(encoding="utf-8").splitlines()[already:]:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                records.append({})  # keep the count right; an unreadable record grades nothing
        return records

    def execute(self) -> None:
        from nbclient.exceptions import DeadKernelError

        recorder = self.recorder
        recorder.source = RECORDER_SOURCE.format(path=str(self.results_file))
        seen = 0
        try:
            with self.client.setup_kernel(env=self.env):
                self.client.execute_cell(recorder, 0)
                error = _error_of(recorder)
                if error:
                    self.problems.append(f"The grader could not watch the checkers: {_error_text(error)}")
                    return
                for index, cell in enumerate(self.nb.cells):
                    if cell.cell_type != "code":
                        continue
                    if time.monotonic() >= self.deadline:
                        self.problems.append(
                            f"The time limit of {self.timeout:g} s was reached before cell {index + 1}; "
                            "it and the cells after it were not run."
                        )
                        break
                    try:
                        self.client.execute_cell(cell, index + 1)
                    except DeadKernelError:
                        self.problems.append(
                            f"The kernel died while running cell {index + 1} (`{_first_line(cell.source)}`); "
                            "the cells after it were not run."
                        )
                        break
                    finally:
                        new = self._new_results(seen)
                        seen += len(new)
                        self.results_by_cell[index] = new
                    if index in self.timed_out:
                        self.problems.append(
                            f"Cell {index + 1} (`{_first_line(cell.source)}`) ran past its time limit "
                            f"({min(self.cell_timeout, self.timeout):g} s per cell) and was interrupted."
                        )
        except Exception as error:  # a kernel that cannot start, a broken connection: report, do not crash
            self.problems.append(f"Running the notebook stopped: {type(error).__name__}: {_one_line(error)}")
        finally:
            shutil.rmtree(self.results_file.parent, ignore_errors=True)


def _expected_exercises(found: List[Exercise], nb, lesson: Optional[str]) -> List[Dict]:
    """The exercises to grade: those with a check cell in the submission, plus every registered exercise of the
    notebook's lesson (from the title ``# NN · ...`` or ``lesson``), so a deleted check cell still counts."""
    known = {info.exercise_id: (name, info.points) for name, info in checkers().items()}
    wanted: Dict[str, Dict] = {}
    for exercise in found:
        wanted.setdefault(exercise.exercise_id, {"name": exercise.checker, "points": exercise.points})
    lesson = lesson or lesson_number(nb)
    if lesson:
        for exercise_id, (name, points) in known.items():
            if exercise_id.split(".")[0] == lesson:
                wanted.setdefault(exercise_id, {"name": name, "points": points})
    return [{"id": k, **v} for k, v in sorted(wanted.items(), key=lambda item: exercise_sort_key(item[0]))]


def _grade_exercise(expected: Dict, exercise: Optional[Exercise], nb, run: _Run) -> ExerciseGrade:
    def grade(status: str, feedback: str, points: float = 0.0) -> ExerciseGrade:
        return ExerciseGrade(
            expected["id"], expected["name"], status, points, float(expected["points"]), feedback
        )

    if exercise is None:
        return grade(
            NOT_CHECKED, f"no check cell for this exercise (expected `check.{expected['name']}(...)`)."
        )
    cell = nb.cells[exercise.check_index]
    mine = [
        r for r in run.results_by_cell.get(exercise.check_index, []) if r.get("exercise_id") == expected["id"]
    ]
    error = _error_of(cell)
    if exercise.check_index not in run.results_by_cell:
        return grade(NOT_CHECKED, f"the check cell (cell {exercise.check_index + 1}) was not run.")
    if not mine:
        reason = f"its check cell raised {_error_text(error)}" if error else "its check cell recorded nothing"
        return grade(FAILED, f"no result: {reason}.")
    result = mine[-1]
    if not result.get("passed"):
        return grade(FAILED, result.get("message", ""))
    if error and error.get("ename") != "ExerciseFailed":
        return grade(FAILED, f"the checker passed, but the check cell then raised {_error_text(error)}.")
    return grade(PASSED, result.get("message", ""), float(expected["points"]))


def grade_notebook(
    path: Path,
    timeout: float = 600,
    cell_timeout: Optional[float] = None,
    fast: bool = False,
    lesson: Optional[str] = None,
    source: Optional[Path] = None,
    extra_env: Optional[Dict[str, str]] = None,
) -> GradeReport:
    """Run a submission in a fresh kernel and grade each exercise; never raises for a bad submission.

    ``timeout`` bounds the whole run, ``cell_timeout`` each cell (default: ``timeout``). ``fast`` runs it in the
    course's fast mode (``COURSE_FAST=1``). ``source``: the instructor's notebook, whose check cells (with their
    hidden tests) replace the submission's, so edited or deleted check cells cannot change the grade.
    """
    path = Path(path)
    report = GradeReport(submission=str(path))
    started = time.monotonic()
    try:
        nb = nbformat.read(str(path), as_version=4)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("it has no list of cells")
    except Exception as error:
        report.problems.append(
            f"Not a readable Jupyter notebook ({type(error).__name__}: {_one_line(error)})."
        )
        return report
    try:
        if source is not None:
            report.problems.extend(_restore_check_cells(nb, Path(source)))
        found, _ = find_exercises(nb)
        by_id = {}
        for exercise in found:
            by_id.setdefault(exercise.exercise_id, exercise)
        env = dict(os.environ, **(extra_env or {}))
        if fast:
            env["COURSE_FAST"] = "1"
        run = _Run(nb, path.resolve().parent, timeout, cell_timeout or timeout, env)
        run.execute()
        report.problems.extend(run.problems)
        check_cells = {e.check_index for e in found}
        for index in sorted(run.results_by_cell):
            error = _error_of(nb.cells[index])
            if error and index not in check_cells and index not in run.timed_out:
                report.cell_errors.append(
                    f"cell {index + 1} (`{_first_line(nb.cells[index].source)}`): {_error_text(error)}"
                )
        report.exercises = [
            _grade_exercise(expected, by_id.get(expected["id"]), nb, run)
            for expected in _expected_exercises(found, nb, lesson)
        ]
    except Exception as error:  # a bug of ours must still leave the instructor with a report
        report.problems.append(f"The grader failed: {type(error).__name__}: {_one_line(error)}")
    report.seconds = time.monotonic() - started
    return report


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= 300 else text[:299] + "…"


def _restore_check_cells(nb, source: Path) -> List[str]:
    """Put the instructor's check cells (hidden tests included) in place of the submission's, by exercise id."""
    original = nbformat.read(str(source), as_version=4)
    theirs = {e.exercise_id: e for e in find_exercises(original)[0]}
    problems = []
    for exercise in find_exercises(nb)[0]:
        if exercise.exercise_id in theirs:
            nb.cells[exercise.check_index].source = original.cells[
                theirs[exercise.exercise_id].check_index
            ].source
    missing = sorted(set(theirs) - {e.exercise_id for e in find_exercises(nb)[0]}, key=exercise_sort_key)
    if missing:
        problems.append(
            "The submission has no check cell for exercise(s) " + ", ".join(missing) + " (deleted or edited)."
        )
    return problems
