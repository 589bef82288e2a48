"""The grader's integrity guard: a solution that uses the answer key, or tampers with the grader, scores 0.

The course package is also the answer key (``course_utils.models.vae.negative_elbo`` *is* exercise 03.3), and
the checkers are ordinary Python a notebook can reach. The grader checks each exercise in a fresh process of its
own (see ``grading`` and ``sandbox``), and there two guards watch the learner's code:

1. **The audit** (:class:`AnswerKeyAudit`), a mechanism rather than a list of spellings. While the solution cells
   and the check cell run,

   - every call of a function defined in an answer-key module (``ANSWER_KEY_MODULES``) or in the checkers' own
     code is seen (``sys.settrace``; only the call, so the code runs at full speed), and
   - the answer-key modules and the checkers' modules are replaced by stand-ins (in ``sys.modules``, in the
     course's other modules and in the notebook's namespace) that pass every attribute through and note each read.

   A call or a read counts against the learner when the nearest frame above it that is neither library code nor
   course code is one of the learner's (a submission cell, or code it compiled itself). The checkers call the
   reference implementations too, to compute the expected answers: there the nearest such frame is the checker's,
   so those calls never count. However the learner spells the way in (``sys.modules[...]``, ``importlib``,
   ``__import__``, ``globals()``, a ``getattr`` chain, an object's ``__module__``, a function reached through
   another function's globals), it ends in a read of a stand-in or a call of the answer key's code.
2. **A scan of the source** (:func:`scan_solution`) for the little the audit cannot see: code that reaches the
   grader's own frames and results (frame, traceback and function internals; ``gc``, ``inspect``, ``ctypes``,
   ``os``, ...), code hidden in strings (``exec``, ``eval``, ``compile``), a tensor subclass that lies about its
   values (``__torch_function__``), switching the audit off (``settrace``). It never looks at a variable's name:
   a local ``gan`` or ``check`` is the learner's own business.

The sandbox adds a third guard of its own: the attributes of ``torch``, ``math``, ``builtins`` and the course's
modules and classes are compared before and after each cell, and a change is undone and flagged.

It is a guard against the shortcuts that work, not a proof: see INSTRUCTORS.md for its limits.
"""

from __future__ import annotations

import ast
import sys
import threading
import types
from dataclasses import asdict, dataclass, field
from typing import Dict, Iterable, List, Optional, Set

from course_utils.exercise_layout import python_source

ANSWER_KEY = "uses the answer key"
TAMPERING = "tampers with the grader"
# The course's packages: the learner's (the answer key and the checkers) and the instructor's (this grader).
COURSE_PACKAGES = ("course_utils", "course_instructor")

# Modules that hold reference answers, with the exercises they answer:
# models.* (every lesson's models, losses, blocks and samplers: 01.5, 02-07, 09), gaussian (01.1-01.4),
# metrics (08.1-08.4), judge (Fréchet distances for 08.2), gan_diagnostics (05.5, and lesson 04's step),
# league (lesson 08's table, 08.5).
ANSWER_KEY_MODULES = (
    "course_utils.models",
    "course_utils.gaussian",
    "course_utils.metrics",
    "course_utils.judge",
    "course_utils.gan_diagnostics",
    "course_utils.league",
)
# The checkers compute the right answer to compare with (``q_sample_variants(...)["right"]``): their module-level
# functions count as the answer key too. What they define inside classes and functions does not: those are the spy
# models and closures a checker hands to the learner's function, which calls them.
CHECKER_MODULES = ("course_utils.exercises", "course_utils.check")
# Modules replaced by stand-ins that note the learner's reads: the answer key, and the checkers' modules (their
# data, e.g. the answers of a multiple choice), but not ``course_utils.check``, through which a learner may call
# a checker on their own function.
STAND_IN_MODULES = ANSWER_KEY_MODULES + ("course_utils.exercises",)
# Code the audit trusts as a caller: the checkers and the grader; the check cell and the course's own solutions
# of earlier exercises, which the grader runs under these names.
TRUSTED_MODULES = CHECKER_MODULES + ("course_instructor",)
TRUSTED_CODE_NAMES = ("<check cell", "<course solution")
LEARNER_CODE_NAME = "<submission"
# Attributes of a module that importing and printing read; reading them is not using the module.
PASS_THROUGH = frozenset(
    {"__name__", "__spec__", "__path__", "__loader__", "__package__", "__file__", "__class__", "__doc__"}
)
MAX_USES = 20  # enough to name what was used; a loop over the answer key would otherwise fill the report

# What a solution's source must not contain (the audit cannot see these).
# Attributes that reach frames, tracebacks, function internals, or switch the audit off.
FRAME_ATTRIBUTES = frozenset(
    {
        "__globals__",
        "__builtins__",
        "__code__",
        "__closure__",
        "__defaults__",
        "__kwdefaults__",
        "f_back",
        "f_globals",
        "f_locals",
        "f_builtins",
        "tb_frame",
        "gi_frame",
        "cr_frame",
        "ag_frame",
        "_getframe",
        "settrace",
        "setprofile",
        "gettrace",
        "getprofile",
    }
)
# Hooks through which a tensor subclass decides what every torch function returns for it (so a wrong answer
# could compare equal to anything).
TENSOR_HOOKS = frozenset({"__torch_function__", "__torch_dispatch__"})
# Builtins that run code the scan cannot read (flagged when the name is the builtin, not a name the cell binds).
HIDDEN_CODE_CALLS = frozenset({"exec", "eval", "compile", "breakpoint"})
# Modules that reach the grader's process, frames or objects, or run code hidden from the scan.
PROCESS_MODULES = frozenset(
    {
        "os",
        "posix",
        "gc",
        "inspect",
        "ctypes",
        "subprocess",
        "signal",
        "threading",
        "_thread",
        "multiprocessing",
        "marshal",
        "pickle",
        "code",
        "codeop",
        "pty",
        "resource",
        "runpy",
    }
)


# ---------------------------------------------------------------- the scan of a cell's source


@dataclass
class CellScan:
    """What a solution cell's source says: findings the audit cannot make."""

    flags: List[str] = field(default_factory=list)

    def to_dict(self) -> Dict:
        return asdict(self)


def _bound_in(tree: ast.AST) -> Set[str]:
    """Every name the cell binds anywhere (assignments, parameters, defs, imports): not a builtin there."""
    bound: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return bound


def scan_solution(source: str) -> CellScan:
    """Scan one solution cell for what reaches the grader itself. A cell that does not parse gets no flag:
    running it reports the syntax error."""
    scan = CellScan()
    try:
        tree = ast.parse(python_source(source))
    except SyntaxError:
        return scan

    def flag(what: str, node: ast.AST) -> None:
        line = getattr(node, "lineno", None)
        finding = f"{TAMPERING}: {what}" + (f" (line {line})" if line else "")
        if finding not in scan.flags:
            scan.flags.append(finding)

    bound = _bound_in(tree)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = (
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            )
            for module in modules:
                if module.split(".")[0] in PROCESS_MODULES:
                    flag(f"imports {module}", node)
        elif isinstance(node, ast.Name) and node.id in HIDDEN_CODE_CALLS and node.id not in bound:
            flag(f"uses {node.id}", node)
        elif isinstance(node, ast.Attribute) and node.attr in FRAME_ATTRIBUTES | TENSOR_HOOKS:
            flag(f"uses .{node.attr}", node)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in TENSOR_HOOKS:
            flag(f"defines {node.name}", node)
    return scan


# ---------------------------------------------------------------- the audit


@dataclass(frozen=True)
class Use:
    """One use of the answer key by the learner's code: what, how, and from where."""

    target: str  # "course_utils.models.conditional.steering_step"
    how: str  # "called" or "read"
    where: str  # "submission cell 40 (exercise 07.4), line 3"
    checker: bool  # the checkers' own code rather than the course's models

    def describe(self) -> str:
        whose = ", the checker's own code" if self.checker else ""
        return f"{ANSWER_KEY}: it {self.how} `{self.target}`{whose} (from {self.where})"


def is_under(module_name: str, prefixes: Iterable[str]) -> bool:
    return any(module_name == p or module_name.startswith(p + ".") for p in prefixes)


def _module_file(module: types.ModuleType) -> Optional[str]:
    filename = getattr(module, "__file__", None)
    return str(filename) if filename else None


class _Watched(types.ModuleType):
    """Stands in for an answer-key module: every attribute is the real module's, and the audit sees each read."""

    def __init__(self, real: types.ModuleType, audit: AnswerKeyAudit) -> None:
        super().__init__(real.__name__, real.__doc__)
        object.__setattr__(self, "_watched_module", (real, audit))

    def __getattribute__(self, name: str):
        real, audit = object.__getattribute__(self, "_watched_module")
        value = getattr(real, name)
        return audit._read(real, name, value, sys._getframe(1))

    def __setattr__(self, name: str, value) -> None:
        real, _ = object.__getattribute__(self, "_watched_module")
        setattr(real, name, value)

    def __delattr__(self, name: str) -> None:
        real, _ = object.__getattribute__(self, "_watched_module")
        delattr(real, name)

    def __dir__(self):
        real, _ = object.__getattribute__(self, "_watched_module")
        return dir(real)

    def __repr__(self) -> str:
        real, _ = object.__getattribute__(self, "_watched_module")
        return repr(real)


class AnswerKeyAudit:
    """Sees every call and read of the answer key made by the learner's code while it is installed.

    ``install(namespaces)`` puts the stand-ins in place and starts the call trace; ``uninstall()`` restores
    everything. ``uses`` lists what the learner's code used, in order; ``mark()`` and ``uses_since(mark)`` give
    the uses of one phase (one cell, or the check).
    """

    def __init__(self) -> None:
        self.uses: List[Use] = []
        self._seen: Set[tuple] = set()
        self._answer_files: Dict[str, str] = {}  # file → module name
        self._checker_files: Dict[str, str] = {}
        self._trusted_files: Set[str] = set()
        self._checker_code: Set[types.CodeType] = set()  # the checkers' module-level functions
        self._stubs: Dict[int, _Watched] = {}  # id(real module) → its stand-in
        self._replaced: List[tuple] = []  # (dict, key, real value) to put back
        self._installed = False
        self._previous: tuple = (None, None)  # the trace functions before ours (a debugger's, coverage's)
        self._hook = self._trace  # one bound method, so that sys.gettrace() can be compared with it

    # ------------------------------------------------------------ setting up

    def _survey(self) -> None:
        """Find the answer-key and checker modules loaded now, their files, and the checkers' own functions.

        Only a checker module's top-level functions count as its answer key (``q_sample_variants``, ``_root``):
        what a checker hands to the learner's function (a spy model's methods, a closure put on an optimizer) is
        defined inside a class or a function, and the learner's code calls it as it should.
        """
        for name, module in list(sys.modules.items()):
            if not isinstance(module, types.ModuleType) or isinstance(module, _Watched):
                continue
            filename = _module_file(module)
            if is_under(name, STAND_IN_MODULES):
                self._stubs[id(module)] = _Watched(module, self)
            if filename and is_under(name, ANSWER_KEY_MODULES):
                self._answer_files[filename] = name
            if filename and is_under(name, CHECKER_MODULES):
                self._checker_files[filename] = name
                for value in list(vars(module).values()):
                    if isinstance(value, types.FunctionType) and value.__module__ == name:
                        self._checker_code.add(value.__code__)
            if filename and is_under(name, TRUSTED_MODULES):
                self._trusted_files.add(filename)
        learner_facing = sys.modules.get("course_utils.check")  # check.summary() is for learners to call
        for public in getattr(learner_facing, "__all__", []):
            self._checker_code.discard(getattr(getattr(learner_facing, public, None), "__code__", None))

    def prepare(self) -> None:
        """Import every answer-key module (so that each has its stand-in) and find the files to watch. Once, in
        the grader's launcher, before any learner code; ``install`` runs in each exercise's process."""
        import importlib
        import pkgutil

        for name in STAND_IN_MODULES:
            module = importlib.import_module(name)
            for info in pkgutil.iter_modules(getattr(module, "__path__", [])):
                importlib.import_module(f"{name}.{info.name}")
        self._survey()

    def install(self, namespaces: Iterable[Dict] = ()) -> None:
        """Put the stand-ins in place (sys.modules, every course module, ``namespaces``) and start the trace."""
        if self._installed:
            return
        if not self._stubs:
            self.prepare()
        for name, module in list(sys.modules.items()):
            if id(module) in self._stubs:
                self._replace(sys.modules, name, module)
        dicts = [vars(m) for n, m in list(sys.modules.items()) if n.split(".")[0] in COURSE_PACKAGES]
        for mapping in [*dicts, *namespaces]:
            if isinstance(mapping, dict):
                for key, value in list(mapping.items()):
                    if isinstance(value, types.ModuleType) and id(value) in self._stubs:
                        self._replace(mapping, key, value)
        self._previous = (sys.gettrace(), getattr(threading, "gettrace", lambda: None)())
        sys.settrace(self._hook)
        threading.settrace(self._hook)
        self._installed = True

    def _replace(self, mapping: Dict, key, real) -> None:
        mapping[key] = self._stubs[id(real)]
        self._replaced.append((mapping, key, real))

    def uninstall(self) -> None:
        """Stop the trace and put every real module back where a stand-in was."""
        if not self._installed:
            return
        sys.settrace(self._previous[0])
        threading.settrace(self._previous[1])  # type: ignore[arg-type]
        for mapping, key, real in reversed(self._replaced):
            if mapping.get(key) is self._stubs[id(real)]:
                mapping[key] = real
        self._replaced.clear()
        self._installed = False

    def tampered(self) -> Optional[str]:
        """Why the audit can no longer see calls (the learner switched the trace off), else None; re-arms it."""
        if not self._installed or sys.gettrace() is self._hook:
            return None
        sys.settrace(self._hook)
        return f"{TAMPERING}: switched off the grader's call audit (sys.settrace)"

    def mark(self) -> int:
        return len(self.uses)

    def uses_since(self, mark: int) -> List[Use]:
        return self.uses[mark:]

    # ------------------------------------------------------------ watching

    def _trace(self, frame, event, arg):
        if event == "call":
            code = frame.f_code
            filename = code.co_filename
            if filename in self._answer_files or (
                filename in self._checker_files and code in self._checker_code
            ):
                self._called(frame)
        return None  # no line-by-line tracing: only the call is seen

    def _called(self, frame) -> None:
        origin = self._learner_origin(frame.f_back)
        if origin is False:
            return
        code = frame.f_code
        checker = code.co_filename in self._checker_files
        module = (self._checker_files if checker else self._answer_files)[code.co_filename]
        name = getattr(code, "co_qualname", code.co_name).replace(".<locals>", "")
        self._record(Use(f"{module}.{name}", "called", self._where(origin), checker))

    def _read(self, real: types.ModuleType, name: str, value, frame):
        """What a stand-in returns for ``real.name`` read from ``frame``; notes the read if it is the learner's."""
        if isinstance(value, _Watched):
            return value  # a package handing out its submodule: using it is what counts
        if isinstance(value, types.ModuleType) and id(value) in self._stubs:
            return self._stubs[id(value)]
        if name not in PASS_THROUGH:
            origin = self._learner_origin(frame)
            if origin is not False:
                checker = is_under(real.__name__, CHECKER_MODULES)
                self._record(Use(f"{real.__name__}.{name}", "read", self._where(origin), checker))
        return value

    def _learner_origin(self, frame):
        """The learner's frame that caused this (a frame, or None when no trusted frame is on the stack), or False
        when trusted code did, or when the answer key's own code did (its call by the learner is what counts):
        walk up past library and other course frames to the first frame that decides."""
        while frame is not None:
            filename = frame.f_code.co_filename
            if filename.startswith(LEARNER_CODE_NAME):
                return frame
            if (
                filename in self._trusted_files
                or filename in self._answer_files
                or filename.startswith(TRUSTED_CODE_NAMES)
            ):
                return False
            frame = frame.f_back
        return None

    @staticmethod
    def _where(frame) -> str:
        if frame is None:
            return "code the grader did not call"
        filename = frame.f_code.co_filename
        label = filename[1:-1] if filename.startswith("<") else filename
        return f"{label}, line {frame.f_lineno}"

    def _record(self, use: Use) -> None:
        key = (use.target, use.how)
        if key in self._seen or len(self.uses) >= MAX_USES:
            return
        self._seen.add(key)
        self.uses.append(use)


def describe_uses(uses: List[Use]) -> List[str]:
    """One finding per answer-key target, a call preferred to the read that reached it."""
    called = {u.target for u in uses if u.how == "called"}
    return [u.describe() for u in uses if u.how == "called" or u.target not in called]
