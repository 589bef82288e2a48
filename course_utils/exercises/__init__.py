"""Exercise checkers, one module per lesson, and the framework they share (``core``)."""

from .core import CHECKERS, RESULTS, CheckResult, ExerciseFailed, Mistake, summary

__all__ = ["CHECKERS", "RESULTS", "CheckResult", "ExerciseFailed", "Mistake", "summary"]
