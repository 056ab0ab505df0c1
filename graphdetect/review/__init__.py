"""The review UI: a Flask app where investigators work the cases of a run.

Flask is imported only when the app is made (``create_app``), so that the command line
and the exporter, which use the store and the roles, start without it.
"""

__all__ = ["create_app"]


def __getattr__(name: str):
    if name == "create_app":
        from .app import create_app
        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
