"""The course's own exceptions.

Every error a learner can trigger through the package is a ``CourseError``: its message says what was wrong and
what to do. In Jupyter it is shown as that message alone (IPython calls ``_render_traceback_``), so a learner
reads one clear paragraph instead of a deep traceback into the package. Outside Jupyter it is an ordinary
exception with an ordinary traceback.
"""

from __future__ import annotations


class CourseError(Exception):
    """Base class: a problem the learner can fix, described in plain words."""

    title = "Course error"

    def _render_traceback_(self) -> list[str]:
        """Short display for IPython/Jupyter: the title and the message, no package frames."""
        red, reset = "\x1b[31m", "\x1b[0m"
        return [f"{red}{self.title} ({type(self).__name__}){reset}", *str(self).splitlines()]


class UnknownNameError(CourseError, ValueError):
    """A name (dataset, split, class, exercise) that the course does not know."""

    title = "Unknown name"


class ShapeError(CourseError, ValueError):
    """A tensor whose shape or dtype is not what the function needs."""

    title = "Wrong shape"


class DataSourceError(CourseError, RuntimeError):
    """No source could provide a dataset."""

    title = "Dataset not available"


class CorruptFileError(CourseError, OSError):
    """A file exists but is truncated, corrupt or of the wrong kind."""

    title = "Corrupt or unreadable file"


class CheckpointError(CourseError, RuntimeError):
    """A checkpoint that cannot be loaded (corrupt, not a checkpoint, or for another model)."""

    title = "Checkpoint problem"


class TrainingDiverged(CourseError, FloatingPointError):
    """A loss became NaN or infinite during training."""

    title = "Training diverged"
