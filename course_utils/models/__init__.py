"""The course's reference models, one module per model family, each with its training loop.

Import from the module itself, e.g. ``from course_utils.models.classifier import Classifier``.
"""
