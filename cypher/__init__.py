"""Package data: every Cypher statement as a named ``.cypher`` file (graphdetect.cypher).

This folder stays at the top of the repository and is installed as ``graphdetect.cypher``
(``[tool.setuptools.package-dir]`` in ``pyproject.toml``), so a plain ``pip install`` carries
it. ``graphdetect._resources.resource_dir("cypher")`` finds it.
"""
