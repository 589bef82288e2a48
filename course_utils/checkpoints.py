"""Save and load a model's weights together with its configuration and metadata.

A checkpoint is a plain dictionary of tensors, numbers and strings:

    {"format": "course-checkpoint/1", "model_class": "course_utils.models.Classifier",
     "config": {...constructor arguments...}, "state_dict": {...}, "metadata": {...}}

It is loaded with ``torch.load(..., weights_only=True)``, so opening a checkpoint never runs code from it. It is
written to a temporary file first and then renamed, so an interrupted save never leaves half a file behind. A
corrupt file, a file that is not a checkpoint, and a checkpoint for another architecture each get a clear
message.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib
import os
import tempfile
from pathlib import Path
from typing import Optional, Tuple, Union

import torch
from torch import nn

from .errors import CheckpointError

FORMAT = "course-checkpoint/1"
_PLAIN_TYPES = (str, int, float, bool, type(None))


def checkpoint_dir() -> Path:
    """Where the course keeps the checkpoints it makes: ``$COURSE_CHECKPOINT_DIR`` or a cache folder."""
    configured = os.environ.get("COURSE_CHECKPOINT_DIR", "").strip()
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "generative-models-course" / "checkpoints"


def _check_plain(value, where: str) -> None:
    """Metadata must be plain data (numbers, strings, lists, dicts, tensors) so it loads with weights_only=True."""
    if isinstance(value, _PLAIN_TYPES) or isinstance(value, torch.Tensor):
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"Checkpoint metadata keys must be strings; {where} has key {key!r}.")
            _check_plain(item, f"{where}[{key!r}]")
        return
    raise TypeError(
        f"Checkpoint metadata must be plain data (numbers, strings, lists, dicts, tensors); {where} is a "
        f"{type(value).__name__}. Convert it first (e.g. history.to_dict(), float(x), str(path))."
    )


def file_sha256(path: Union[str, Path]) -> str:
    """The SHA-256 of a file's bytes, in hex: two checkpoints with the same hash hold the same weights."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_checkpoint(model: nn.Module, path: Union[str, Path], **metadata) -> Path:
    """Save ``model``'s weights, its ``config`` (if it has one) and ``metadata`` to ``path``, atomically.

    Models of the course carry a ``config`` dict of their constructor arguments, so ``load_checkpoint(path)`` can
    rebuild them without being handed a model. Metadata is for what a reader wants to know later: dataset,
    epochs, metrics, training time.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"save_checkpoint needs a torch.nn.Module, got {type(model).__name__}.")
    config = dict(getattr(model, "config", {}) or {})
    _check_plain(config, "config")
    _check_plain(metadata, "metadata")
    model_class = f"{type(model).__module__}.{type(model).__qualname__}"
    metadata = {
        **metadata,
        "saved_at": _dt.datetime.now().isoformat(timespec="seconds"),
        "torch": str(torch.__version__),
    }
    payload = {
        "format": FORMAT,
        "model_class": model_class,
        "config": config,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "metadata": metadata,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
        os.replace(tmp, path)  # atomic on the same file system
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _read(path: Path) -> dict:
    if not path.is_file():
        raise CheckpointError(f"No checkpoint at {path}. Train the model first (or check the path).")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (
        Exception
    ) as exc:  # any failure to parse (UnpicklingError, EOFError, IndexError, ...) means unreadable
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"{path} is not a readable checkpoint: it is corrupt, truncated, or not a PyTorch file "
            f"({first_line[:200]}).\nDelete it and save or train again."
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is a PyTorch file but not a course checkpoint (no '{FORMAT}' marker). "
            "Save checkpoints with course_utils.save_checkpoint."
        )
    return payload


def _describe_mismatch(model: nn.Module, state: dict) -> str:
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    resized = [f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
               for k in own if k in state and tuple(own[k].shape) != tuple(state[k].shape)]  # fmt: skip
    lines = []
    if missing:
        lines.append(
            f"  missing in the checkpoint: {', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}"
        )
    if unexpected:
        lines.append(f"  not in the model: {', '.join(unexpected[:5])}{' …' if len(unexpected) > 5 else ''}")
    if resized:
        lines.append(f"  different shapes: {'; '.join(resized[:5])}{' …' if len(resized) > 5 else ''}")
    return "\n".join(lines)


def load_checkpoint(
    path: Union[str, Path],
    model: Optional[nn.Module] = None,
    device: Optional[Union[str, torch.device]] = None,
) -> Tuple[nn.Module, dict]:
    """Load a checkpoint; return ``(model, metadata)``.

    Args:
        path: the file written by ``save_checkpoint``.
        model: a model to load the weights into. ``None`` rebuilds the course model recorded in the checkpoint
            from its config (only classes of ``course_utils`` are rebuilt this way).
        device: move the model there (default: stays on the CPU).
    """
    path = Path(path)
    payload = _read(path)
    meta = dict(payload.get("metadata", {}))
    meta["model_class"] = payload["model_class"]
    meta["config"] = payload.get("config", {})
    if model is None:
        model = _rebuild(payload, path)
    state = payload["state_dict"]
    problems = _describe_mismatch(model, state)
    if problems:
        raise CheckpointError(
            f"{path} holds weights of a {payload['model_class']} with config {payload.get('config', {})}, which do "
            f"not fit this {type(model).__name__}:\n{problems}\n"
            "Build the model with the same architecture and settings as when it was saved, or retrain it."
        )
    model.load_state_dict(state)
    if device is not None:
        model.to(device)
    model.eval()
    return model, meta


def _rebuild(payload: dict, path: Path) -> nn.Module:
    qualified = payload["model_class"]
    module_name, _, class_name = qualified.rpartition(".")
    if not module_name.startswith("course_utils"):
        raise CheckpointError(
            f"{path} holds a {qualified}, which is not a course model: create one yourself and pass it, "
            "load_checkpoint(path, model=MyModel(...))."
        )
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        raise CheckpointError(
            f"{path} was saved from {qualified}, which this version of course_utils does not have. "
            "Update the course (git pull) or retrain the model."
        ) from None
    try:
        return cls(**payload.get("config", {}))
    except TypeError as exc:
        raise CheckpointError(f"Could not rebuild {qualified} from the checkpoint's config: {exc}.") from None
