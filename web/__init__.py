"""Package data: the review UI's templates, static files and translations (graphdetect.web).

This folder stays at the top of the repository and is installed as ``graphdetect.web``
(``[tool.setuptools.package-dir]`` in ``pyproject.toml``), so a plain ``pip install`` carries
it. ``graphdetect._resources.resource_dir("web")`` finds it.
"""
