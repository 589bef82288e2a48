"""course_utils: the package behind "Generative Models, step by step".

The notebooks import it for plumbing (data, batches, progress, plots, checkpoints, exercise checkers) and keep
the ideas they teach written out in the notebook itself. The package is also the course's answer key: the
reference models and trainers of each lesson live here.

The names below are public and stable; notebooks, docs and instructors rely on them.
"""

from . import check
from .batches import TensorBatches
from .checkpoints import checkpoint_dir, load_checkpoint, save_checkpoint
from .data import Dataset, data_dir, load_dataset
from .errors import (
    CheckpointError,
    CorruptFileError,
    CourseError,
    DataSourceError,
    ShapeError,
    TrainingDiverged,
    UnknownNameError,
)
from .exercises import ExerciseFailed
from .live import LiveView, in_notebook
from .plots import plot_history, show_images
from .runtime import budget, get_device, is_fast_mode, seed_everything, setup
from .training import History, check_finite, evaluating, progress

__version__ = "0.1.0"

__all__ = [
    "check",
    "ExerciseFailed",
    "TensorBatches",
    "checkpoint_dir",
    "load_checkpoint",
    "save_checkpoint",
    "Dataset",
    "data_dir",
    "load_dataset",
    "CheckpointError",
    "CorruptFileError",
    "CourseError",
    "DataSourceError",
    "ShapeError",
    "TrainingDiverged",
    "UnknownNameError",
    "LiveView",
    "in_notebook",
    "plot_history",
    "show_images",
    "budget",
    "get_device",
    "is_fast_mode",
    "seed_everything",
    "setup",
    "History",
    "check_finite",
    "evaluating",
    "progress",
]
