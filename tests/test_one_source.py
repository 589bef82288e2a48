"""One source per concept: an exercise's solution in a notebook and its twin in the package are the same code.

A learner writes ``q_sample`` in lesson 09 and later reads ``course_utils.models.diffusion.q_sample``, which
the lesson's samplers and the checker's answer key use: if the two drifted apart, the learner would be graded
against, and trained with, code that is not what they wrote. ``TWINS`` maps every exercise function that has a
package twin to it, and the test compares the two syntax trees. ``NO_TWIN`` lists every other exercise with
the reason it has none. Every solution function in the notebooks must be in one of the two tables, so a new
exercise cannot be forgotten.

What may differ between the two, and nothing else:

- the function's name (lesson 06's ``wgan_generator_loss`` is ``wgan.generator_loss``): bodies are compared;
- docstrings, comments and layout (comments and layout are not in the syntax tree; the docstring is dropped);
- type hints (the package has them, the notebooks' solutions mostly do not): parameters are compared by name
  and default only, and a default by its value (the package may write ``num_classes=NUM_CLASSES`` where the
  notebook writes ``num_classes=10``).

The decorators are compared: ``@torch.no_grad()`` changes what a function does.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import inspect
import json
import textwrap
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
BEGIN = "### BEGIN SOLUTION"

# (lesson, exercise function) → the package function that is the same code.
TWINS: Dict[Tuple[str, str], str] = {
    ("03", "reparameterize"): "course_utils.models.vae.reparameterize",
    ("03", "kl_divergence"): "course_utils.models.vae.kl_divergence",
    ("04", "discriminator_loss"): "course_utils.models.gan.discriminator_loss",
    ("04", "generator_loss"): "course_utils.models.gan.generator_loss",
    ("04", "discriminator_block"): "course_utils.models.gan.discriminator_block",
    ("04", "train_step"): "course_utils.models.gan.train_step",
    ("05", "transposed_output_size"): "course_utils.models.dcgan.transposed_output_size",
    ("06", "critic_loss"): "course_utils.models.wgan.critic_loss",
    ("06", "wgan_generator_loss"): "course_utils.models.wgan.generator_loss",
    ("07", "generator_input"): "course_utils.models.conditional.generator_input",
    ("07", "discriminator_input"): "course_utils.models.conditional.discriminator_input",
    ("09", "q_sample"): "course_utils.models.diffusion.q_sample",
    ("09", "epsilon_loss"): "course_utils.models.diffusion.epsilon_loss",
    ("09", "ancestral_step"): "course_utils.models.diffusion.ancestral_step",
    ("09", "flow_matching_loss"): "course_utils.models.flow_matching.flow_matching_loss",
    ("09", "euler_sample"): "course_utils.models.flow_matching.euler_sample",
    ("10", "from_epsilon"): "course_utils.models.guidance.from_epsilon",
    ("10", "diffusion_to_flow"): "course_utils.models.guidance.diffusion_to_flow",
    ("10", "euler_step"): "course_utils.models.guidance.euler_step",
    ("10", "drop_labels"): "course_utils.models.guidance.drop_labels",
    ("10", "guided_prediction"): "course_utils.models.guidance.guided_prediction",
    ("10", "choose_guidance_scale"): "course_utils.models.guidance.choose_guidance_scale",
    ("11", "latent_scale"): "course_utils.models.latent.latent_scale",
    ("11", "latent_flow_loss"): "course_utils.models.latent.latent_flow_loss",
    ("11", "generate"): "course_utils.models.latent.generate",
    ("11", "reconstruction_floor"): "course_utils.models.latent.reconstruction_floor",
    ("11", "choose_latent_channels"): "course_utils.models.latent.choose_latent_channels",
}

# (lesson, exercise function) → why the package has no function that is the same code.
NO_TWIN: Dict[Tuple[str, str], str] = {
    ("00", "flatten_batch"): "a warm-up: the package flattens images where it needs to (nn.Flatten, reshape)",
    ("00", "to_minus_one_one"): "a warm-up: the package writes `images * 2 - 1` where it trains on [-1, 1]",
    ("01", "fit_gaussian"): "gaussian.ClassGaussians.fit does it for each class, in float64 and with a ridge",
    (
        "01",
        "sample_gaussian",
    ): "gaussian.ClassGaussians.sample draws from one class, with fit's Cholesky factor",
    ("01", "posterior"): "gaussian.ClassGaussians.predict_proba does it from the model's own log-likelihoods",
    ("01", "shared_covariance_logits"): "the package's ClassGaussians keeps one covariance per class",
    ("01", "real_fake_bce"): "a first look at lesson 04's discriminator_loss, which averages the two halves",
    ("02", "make_encoder"): "models.autoencoder.DenseAutoencoder builds it, with the widths as arguments",
    ("02", "make_decoder"): "models.autoencoder.DenseAutoencoder builds it, with the widths as arguments",
    ("02", "reconstruction_loss"): "models.autoencoder.reconstruction_loss also offers BCE (`kind`)",
    ("02", "encode_decode"): "models.autoencoder.encode_images returns codes only, in batches, on the CPU",
    ("02", "interpolate_codes"): "the lesson's walk between two codes: no package code needs it",
    ("03", "negative_elbo"): "models.vae.negative_elbo weighs the KL by `beta` (the beta-VAE)",
    ("03", "sample_from_prior"): "models.vae.VAE.sample is a method (the model's device, a torch.Generator)",
    ("03", "iwae_bound"): "models.vae.iwae_ladder computes it inline, for several k from one set of draws",
    ("04", "generator_block"): "models.gan.generator_block can leave out batch norm (`batch_norm`)",
    ("05", "up_block"): "models.dcgan.generator_block offers other upsamplings and no batch norm",
    (
        "05",
        "down_block",
    ): "models.dcgan.discriminator_block offers layer norm, drops the bias a norm cancels",
    ("05", "init_weights"): "models.dcgan.init_weights also initialises GroupNorm (lesson 06's critic)",
    ("05", "name_the_failures"): "a quiz answer",
    ("06", "wasserstein_1d"): "models.wgan.wasserstein_1d first checks its inputs (ShapeError)",
    ("06", "gradient_penalty"): "models.wgan.gradient_penalty has a one-sided form (`one_sided`)",
    ("07", "sample_class"): "models.conditional.sample_class takes a seed, restores the model's mode",
    ("07", "steering_step"): "models.conditional.steering_step can also climb the raw logit (`objective`)",
    ("08", "matrix_sqrt"): "metrics.frechet_distance takes the root inline, in float64 NumPy",
    ("08", "frechet_distance"): "metrics.frechet_distance checks its inputs, uses float64 NumPy, clamps at 0",
    (
        "08",
        "knn_precision_recall",
    ): "metrics.precision_recall checks inputs, works in chunks, returns a dict",
    ("08", "memorization_ratio"): "metrics.nearest_distances and metrics.memorization, with more numbers",
    ("08", "league_answers"): "a quiz answer",
}


class Solution:
    """One exercise function of a notebook: where it is and its syntax tree."""

    def __init__(self, notebook: Path, cell: int, node: ast.AST) -> None:
        self.notebook, self.cell, self.node = notebook, cell, node

    @property
    def lesson(self) -> str:
        return self.notebook.name[:2]

    @property
    def where(self) -> str:
        return f"{self.notebook.relative_to(ROOT)}, cell index {self.cell}"


def _python(cell_source: str) -> str:
    """A code cell's source as Python: magics and shell lines become comments (line numbers kept)."""
    lines = cell_source.splitlines()
    return "\n".join(f"# {line}" if line.lstrip().startswith(("%", "!")) else line for line in lines)


def notebook_solutions() -> List[Solution]:
    """Every function or class in the instructor's notebooks that holds a solution region, in order."""
    found = []
    for notebook in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        for index, cell in enumerate(cells):
            source = "".join(cell["source"])
            if cell["cell_type"] != "code" or BEGIN not in source:
                continue
            marker_lines = [n for n, line in enumerate(source.splitlines(), 1) if BEGIN in line]
            definitions = [
                node
                for node in ast.parse(_python(source)).body
                if isinstance(node, (ast.FunctionDef, ast.ClassDef))
            ]
            for line in marker_lines:
                holders = [node for node in definitions if node.lineno <= line <= node.end_lineno]
                assert holders, (
                    f"{notebook.relative_to(ROOT)}, cell index {index}: a solution region outside any "
                    "function or class; an exercise is a function (or class) whose body holds the solution"
                )
            for node in definitions:
                if any(node.lineno <= line <= node.end_lineno for line in marker_lines):
                    found.append(Solution(notebook, index, node))
    return found


SOLUTIONS = {(s.lesson, s.node.name): s for s in notebook_solutions()}


def package_function(path: str):
    module_name, name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module_name), name)


def _body(node: ast.AST) -> List[ast.stmt]:
    """The statements of a function, without its docstring."""
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        if isinstance(body[0].value.value, str):
            body = body[1:]
    return body


def _dump(statements: List[ast.AST]) -> List[str]:
    return [ast.dump(s, include_attributes=False) for s in statements]


def _notebook_parameters(node: ast.FunctionDef) -> List[str]:
    """``name`` or ``name=value`` for each parameter of a notebook's function (literal defaults)."""
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    parameters = [_parameter(a.arg, d) for a, d in zip(positional, defaults)]
    if args.vararg:
        parameters.append(f"*{args.vararg.arg}")
    parameters += [_parameter(a.arg, d) for a, d in zip(args.kwonlyargs, args.kw_defaults)]
    if args.kwarg:
        parameters.append(f"**{args.kwarg.arg}")
    return parameters


def _parameter(name: str, default) -> str:
    return name if default is None else f"{name}={ast.literal_eval(default)!r}"


def _package_parameters(function) -> List[str]:
    """``name`` or ``name=value`` for each parameter of a package function, with the defaults' values."""
    parameters = []
    for p in inspect.signature(function).parameters.values():
        prefix = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "")
        parameters.append(prefix + (p.name if p.default is p.empty else f"{p.name}={p.default!r}"))
    return parameters


def _as_text(node: ast.AST, parameters: List[str]) -> List[str]:
    """What the comparison sees, readable: decorators, parameters, then the body without its docstring."""
    decorators = [f"@{ast.unparse(d)}" for d in node.decorator_list]
    body = [ast.unparse(s) for s in _body(node)]
    return [*decorators, f"({', '.join(parameters)})", *"\n".join(body).splitlines()]


def test_every_exercise_is_in_one_table():
    found = set(SOLUTIONS)
    both = set(TWINS) & set(NO_TWIN)
    assert not both, f"in TWINS and in NO_TWIN at once: {sorted(both)}"
    missing = sorted(found - set(TWINS) - set(NO_TWIN))
    assert not missing, (
        f"exercises in the notebooks that neither table lists: {missing}. Put each in TWINS (lesson, name) → the "
        "package function that is the same code, or in NO_TWIN with one line saying why there is none."
    )
    stale = sorted((set(TWINS) | set(NO_TWIN)) - found)
    assert not stale, f"the tables list exercises that no notebook has (renamed or removed?): {stale}"


@pytest.mark.parametrize("path", sorted(set(TWINS.values())))
def test_every_twin_imports(path):
    assert inspect.isfunction(package_function(path)), f"{path} is not a function"


@pytest.mark.parametrize("key", sorted(TWINS), ids=lambda key: f"{key[0]}-{key[1]}")
def test_the_solution_and_its_package_twin_are_the_same_code(key):
    solution, path = SOLUTIONS[key], TWINS[key]
    function = package_function(path)
    source = inspect.unwrap(function)  # the function itself, under any decorator
    twin = ast.parse(textwrap.dedent(inspect.getsource(source))).body[0]
    assert isinstance(solution.node, ast.FunctionDef) and isinstance(twin, ast.FunctionDef), (
        f"{key}: only functions are compared here"
    )
    ours = _notebook_parameters(solution.node)
    theirs = _package_parameters(function)
    same = (
        ours == theirs
        and _dump(solution.node.decorator_list) == _dump(twin.decorator_list)
        and _dump(_body(solution.node)) == _dump(_body(twin))
    )
    if same:
        return
    where = f"{Path(inspect.getsourcefile(source)).relative_to(ROOT)}, line {source.__code__.co_firstlineno}"
    diff = difflib.unified_diff(
        _as_text(twin, theirs),
        _as_text(solution.node, ours),
        fromfile=f"{path} ({where})",
        tofile=f"{solution.node.name} ({solution.where})",
        lineterm="",
    )
    pytest.fail(
        f"{path} is not the same code as the solution of {solution.node.name} in {solution.where}.\n"
        "Edit the package function to read like the notebook's solution (keep its docstring and type hints): "
        "the notebook is what the learner writes. If the notebook's solution is the one to change, move the "
        "exercise to NO_TWIN as 'pending notebook edit' until it has.\n" + "\n".join(diff),
        pytrace=False,
    )
