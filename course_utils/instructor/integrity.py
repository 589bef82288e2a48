"""The grader's integrity scan: what in a learner's solution cell could reach the answer key or the checkers.

The course package is also the answer key (``course_utils.models.vae.negative_elbo`` *is* exercise 03.3), and
the checkers are ordinary Python objects a notebook can replace. The grader therefore runs each exercise's check
in a fresh process from the learner's solution cells only (see ``grading`` and ``sandbox``), and before running a
solution cell it looks at what the cell refers to:

- **uses the answer key**: the cell imports or names ``course_utils``, or refers to a name that is bound to a
  course_utils module or object where it runs (``check``, ``reference`` in ``from course_utils.models import vae
  as reference``, ``DenseAutoencoder``, ...);
- **tampers with the checker or libraries**: the cell assigns to an attribute of a module or class
  (``check.negative_elbo = ...``, ``torch.allclose = ...``), rebinds a name the course imports (``torch = ...``),
  or uses what can reach the grader from inside (``setattr``, ``exec``/``eval``/``compile``, ``__import__``,
  ``globals()``/``vars()``, ``sys``, ``importlib``, ``builtins``, ``gc``, ``inspect``, frame and function
  internals such as ``__globals__``, tensor subclasses' ``__torch_function__``).

This module does the part that needs only the source (``scan_solution``); the names are resolved to their
values in the sandbox, just before the cell runs (``sandbox.runtime_flags``), where the values are known.

It is a guard against the shortcuts that work, not a proof: see INSTRUCTORS.md for its limits.
"""

from __future__ import annotations

import ast
from dataclasses import asdict, dataclass, field
from typing import Dict, Iterable, List, Set

from .layout import python_source

ANSWER_KEY = "uses the answer key"
TAMPERING = "tampers with the checker or libraries"
COURSE_PACKAGE = "course_utils"

# Calls that reach objects a solution has no business changing (or run code the scan cannot see).
TAMPERING_CALLS = frozenset(
    {"setattr", "delattr", "exec", "eval", "compile", "__import__", "globals", "vars", "breakpoint"}
)
# Modules that reach the interpreter, other modules or the grader's process.
TAMPERING_MODULES = frozenset(
    {
        "sys",
        "os",
        "builtins",
        "importlib",
        "gc",
        "inspect",
        "ctypes",
        "subprocess",
        "types",
        "runpy",
        "signal",
        "threading",
        "_thread",
        "multiprocessing",
        "marshal",
        "pickle",
        "code",
        "codeop",
        "pty",
        "posix",
        "resource",
    }
)
# Attributes that reach function, frame or class internals, or let a tensor lie about its values.
TAMPERING_ATTRIBUTES = frozenset(
    {
        "__globals__",
        "__builtins__",
        "__code__",
        "__closure__",
        "__defaults__",
        "__kwdefaults__",
        "__dict__",
        "__class__",
        "__bases__",
        "__mro__",
        "__subclasses__",
        "__import__",
        "__loader__",
        "__spec__",
        "__getattribute__",
        "__setattr__",
        "__delattr__",
        "__module__",
        "__torch_function__",
        "__torch_dispatch__",
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
    }
)


# Module-level names a solution must not rebind whatever the imports are (the sandbox relies on them).
PROTECTED_DUNDERS = frozenset({"__name__", "__builtins__", "__spec__", "__loader__", "__import__"})


@dataclass
class CellScan:
    """What a solution cell's source says; ``names`` and ``assigned_bases`` are resolved in the sandbox."""

    flags: List[str] = field(default_factory=list)  # findings from the source alone
    names: List[str] = field(default_factory=list)  # global names the cell reads
    assigned_bases: List[str] = field(default_factory=list)  # X in `X.attr = ...` or `X[...].a = ...`

    def to_dict(self) -> Dict:
        return asdict(self)


def _base_name(node: ast.AST):
    """The name at the root of ``a.b[c].d`` (None when the root is not a plain name, e.g. a call)."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _targets(node: ast.AST) -> Iterable[ast.AST]:
    if isinstance(node, ast.Assign):
        for target in node.targets:
            yield from _unpack(target)
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        yield node.target
    elif isinstance(node, ast.Delete):
        yield from node.targets
    elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
        yield from _unpack(node.target)
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        for item in node.items:
            if item.optional_vars is not None:
                yield from _unpack(item.optional_vars)
    elif isinstance(node, ast.NamedExpr):
        yield node.target


def _unpack(target: ast.AST) -> Iterable[ast.AST]:
    if isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _unpack(element)
    else:
        yield target


def _module_level_bindings(tree: ast.Module) -> Set[str]:
    """Names the cell binds at module level (assignments, defs, imports) or declares ``global``."""
    bound: Set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        for target in _targets(node):
            if isinstance(target, ast.Name):
                bound.add(target.id)
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            bound.update(node.names)
    return bound


def scan_solution(source: str, protected: Iterable[str] = ()) -> CellScan:
    """Scan one solution cell. ``protected``: names the course's imports bind (``torch``, ``check``, ...), which a
    solution must not rebind. A cell that does not parse gets no flag: running it reports the syntax error."""
    scan = CellScan()
    try:
        tree = ast.parse(python_source(source))
    except SyntaxError:
        return scan

    def flag(kind: str, what: str, node: ast.AST) -> None:
        line = getattr(node, "lineno", None)
        finding = f"{kind}: {what}" + (f" (line {line})" if line else "")
        if finding not in scan.flags:
            scan.flags.append(finding)

    names: Set[str] = set()
    bases: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = (
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            )
            for module in modules:
                top = module.split(".")[0]
                if top == COURSE_PACKAGE:
                    flag(ANSWER_KEY, f"imports {module}", node)
                elif top in TAMPERING_MODULES:
                    flag(TAMPERING, f"imports {module}", node)
        elif isinstance(node, ast.Name):
            if node.id == COURSE_PACKAGE:
                flag(ANSWER_KEY, f"refers to {COURSE_PACKAGE}", node)
            elif node.id in TAMPERING_CALLS or node.id in ("__builtins__", "builtins"):
                flag(TAMPERING, f"uses {node.id}", node)
            if isinstance(node.ctx, ast.Load):
                names.add(node.id)
        elif isinstance(node, ast.Attribute) and node.attr in TAMPERING_ATTRIBUTES:
            flag(TAMPERING, f"uses .{node.attr}", node)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in TAMPERING_ATTRIBUTES:
            flag(TAMPERING, f"defines {node.name}", node)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and COURSE_PACKAGE in node.value:
            flag(ANSWER_KEY, f"names {COURSE_PACKAGE} in a string", node)
        for target in _targets(node):
            if isinstance(target, (ast.Attribute, ast.Subscript)):
                base = _base_name(target)
                if base is not None:
                    bases.add(base)
    for name in sorted(_module_level_bindings(tree) & (set(protected) | PROTECTED_DUNDERS)):
        flag(TAMPERING, f"rebinds `{name}`, which the course's notebook imports", tree)
    scan.names = sorted(names)
    scan.assigned_bases = sorted(bases)
    return scan
