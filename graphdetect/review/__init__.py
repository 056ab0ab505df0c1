"""The review UI: a Flask app where investigators work the cases of a run."""

from .app import create_app

__all__ = ["create_app"]
