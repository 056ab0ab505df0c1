"""The package installs whole: a wheel in a fresh virtualenv detects, serves and exports.

The wheel is built offline (``pip wheel --no-build-isolation --no-index``) from a copy of the
files a source tree ships, installed with no dependencies into a virtualenv that borrows the
test environment's third-party packages through a ``.pth`` line (a ``.pth`` line adds a folder
to ``sys.path`` without running the ``.pth`` files inside it, so the editable graphdetect of
the test environment stays out). Every command then runs from a temporary folder, away from
the checkout, so ``web/`` and ``cypher/`` can only come from the wheel. Without a tool the
setup installs (setuptools >= 77, pip >= 22.3, a CJK font) the test skips; on CI it fails.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
import zipfile
from importlib import metadata
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from export_support import CI, need_font

from graphdetect.cli import main
from graphdetect.export._fonts import INSTALL_HINT

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "datasets" / "sample"
#: What a source tree needs to build the wheel (pyproject.toml names README and LICENSE).
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "graphdetect", "web", "cypher")
FLASK_PACKAGES = ("flask", "flask_babel", "flask_login", "flask_wtf")


def _need(condition: bool, message: str) -> None:
    """Skip when ``condition`` is false; fail instead on CI, where the setup installs it."""
    if not condition:
        if CI:
            pytest.fail(message)
        pytest.skip(message)


def _version(distribution: str) -> tuple[int, ...]:
    """The installed (major, minor) of ``distribution``; () when it is not installed."""
    try:
        text = metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return ()
    return tuple(int(part) for part in text.split(".")[:2] if part.isdigit())


def _commands(command: click.Command, path: tuple[str, ...] = ()):
    """Every (path, command) of a click command tree, the root first."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


@pytest.mark.parametrize("path", [p for p, _ in _commands(main)], ids=" ".join)
def test_help_has_no_rst_markup(path):
    res = CliRunner().invoke(main, [*path, "--help"])
    assert res.exit_code == 0, res.output
    assert "Usage: " in res.output
    for markup in ("``", ":class:`", ":func:`", ":meth:`"):
        assert markup not in res.output, (path, res.output)


def test_main_help_reads_plainly():
    res = CliRunner().invoke(main, ["--help"])
    assert "Typical use: graphdetect detect DATA --out RUN, then review" in res.output


def test_cli_and_export_import_no_flask(tmp_path):
    script = (
        "import sys\n"
        "import graphdetect.cli, graphdetect.export\n"
        "from graphdetect.cli import main\n"
        "for args in (['--help'], ['export', '--help'], ['users', '--help']):\n"
        "    try:\n"
        "        main(args, prog_name='graphdetect')\n"
        "    except SystemExit as exc:\n"
        "        assert exc.code == 0, (args, exc.code)\n"
        f"found = sorted(m for m in sys.modules if m.split('.')[0] in {FLASK_PACKAGES!r})\n"
        "print('FLASK:', ','.join(found))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                         text=True, check=True).stdout
    assert "Usage: graphdetect export" in out
    assert out.splitlines()[-1] == "FLASK: ", out.splitlines()[-1]


def test_start_up_imports_no_heavy_libraries(tmp_path):
    """The CLI starts without the plotting, PDF, graph and statistics libraries, and a
    detection run loads igraph and leidenalg only when it finds communities."""
    heavy = ("igraph", "leidenalg", "matplotlib", "reportlab", "networkx", "scipy.stats")
    script = (
        "import sys\n"
        "import graphdetect.cli\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
        "import graphdetect.run\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                         text=True, check=True).stdout
    assert out.splitlines() == ["[]", "[]"], out


def test_detection_loads_igraph_without_matplotlib(tmp_path):
    """Finding communities imports igraph without the matplotlib its drawing code would
    load, and matplotlib still imports afterwards (the export draws with it)."""
    script = (
        "import sys\n"
        "import numpy as np\n"
        "from graphdetect.detectors._pairs import leiden\n"
        "print(leiden(4, np.array([0, 2]), np.array([1, 3]), np.ones(2), resolution=1.0,"
        " seed=0).tolist())\n"
        "print(sorted(m for m in ('igraph', 'leidenalg', 'matplotlib') if m in sys.modules))\n"
        "import matplotlib.pyplot\n"
        "print('matplotlib' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                         text=True, check=True).stdout
    assert out.splitlines() == ["[0, 0, 1, 1]", "['igraph', 'leidenalg']", "True"], out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode("utf-8")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh virtualenv with the wheel installed; returns its folder."""
    _need(_version("setuptools") >= (77,), "setuptools >= 77 is missing: make setup")
    _need(_version("pip") >= (22, 3), "pip >= 22.3 is missing (pip --python): make setup")
    base = tmp_path_factory.mktemp("packaging")
    source = base / "src"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-index",
                    "--no-build-isolation", "-w", str(base / "wheel"), str(source)],
                   check=True, capture_output=True, cwd=base)
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], check=True, capture_output=True, text=True)
    (Path(site.stdout.strip()) / "_test_dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    wheel = next((base / "wheel").glob("graphdetect-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", "--no-index", "--ignore-installed", str(wheel)],
                   check=True, capture_output=True, cwd=base)
    return venv


def _env() -> dict[str, str]:
    """This environment without what could point the installed package back at the checkout."""
    return {k: v for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "GRAPHDETECT_WEB_DIR") and not k.startswith("PYTEST")}


@pytest.mark.slow
def test_wheel_carries_every_package_and_data_file(installed):
    wheel = next((installed.parent / "wheel").glob("graphdetect-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    source = installed.parent / "src"  # the checkout's files the wheel was built from
    packages = {str(p.relative_to(source)) for p in (source / "graphdetect").rglob("__init__.py")}
    assert packages <= names, sorted(packages - names)
    data = {f"graphdetect/{p.relative_to(source)}" for folder in ("web", "cypher")
            for p in (source / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.name != "babel.cfg"}
    data |= {str(p.relative_to(source)) for p in (source / "graphdetect").rglob("*")
             if p.suffix in (".toml", ".txt", ".properties")}  # the ledger's rules.toml ...
    assert data <= names, sorted(data - names)
    assert not any(name.startswith("datasets/") for name in names)


@pytest.mark.slow
def test_installed_package_finds_its_data_outside_the_checkout(installed, tmp_path):
    script = ("import graphdetect, graphdetect.review.app as app, graphdetect.neo4j._cypher as c\n"
              "print(graphdetect.__file__); print(app.WEB_DIR); print(c.CYPHER_DIR)\n"
              "print(c.cypher_text('ping')); print(len(c.cypher_names()))\n")
    out = subprocess.run([installed / "bin" / "python", "-c", script], cwd=tmp_path, env=_env(),
                         capture_output=True, text=True, check=True).stdout.splitlines()
    site = str(installed)
    assert all(line.startswith(site) for line in out[:3]), out
    assert out[1].endswith("graphdetect/web") and out[2].endswith("graphdetect/cypher")
    assert out[3] == "RETURN 1 AS ok"
    assert int(out[4]) == len(list((ROOT / "cypher").glob("*.cypher")))


@pytest.mark.slow
def test_installed_wheel_detects_serves_and_exports(installed, tmp_path):
    need_font()
    bin_ = installed / "bin"
    data = tmp_path / "data"
    shutil.copytree(SAMPLE, data)

    def graphdetect(*args: str) -> str:
        res = subprocess.run([bin_ / "graphdetect", *args], cwd=tmp_path, env=_env(),
                             capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        return res.stdout

    graphdetect("detect", "data", "--out", "run", "--quiet")
    assert (tmp_path / "run" / "cases.jsonl").is_file()

    port = _free_port()
    server = subprocess.Popen([bin_ / "graphdetect", "serve", "run", "--db", "review.sqlite",
                               "--port", str(port), "--threads", "2"], cwd=tmp_path, env=_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        status, page, deadline = None, "", time.monotonic() + 60
        while status is None and time.monotonic() < deadline and server.poll() is None:
            try:
                status, page = _get(f"http://127.0.0.1:{port}/login")
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.3)
        assert status == 200, server.stdout.read() if server.poll() is not None else "no answer"
        assert "<form" in page and "登录" in page  # the template, rendered and translated
        status, css = _get(f"http://127.0.0.1:{port}/static/css/app.css")
        source = installed.parent / "src"  # what the wheel was built from
        assert status == 200 and css == (source / "web/static/css/app.css").read_text("utf-8")
        vendor = next((ROOT / "web/static/vendor").glob("cytoscape-*.min.js")).name
        assert _get(f"http://127.0.0.1:{port}/static/vendor/{vendor}")[0] == 200
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stdout.close()

    out = graphdetect("export", "run", "S-0001", "--out", "packages")
    assert "exported case S-0001" in out
    package = next(p for p in (tmp_path / "packages").iterdir() if p.is_dir())
    assert (package / "report.pdf").read_bytes().startswith(b"%PDF")


def test_readme_links_stay_inside_the_repository():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = [target.split("#")[0] for target in re.findall(r"\]\(([^)\s]+)\)", readme)
             if not target.startswith(("http://", "https://", "#"))]
    assert "docs/contract.md" in links
    assert [link for link in links if not (ROOT / link).is_file()] == []


def test_make_run_sets_up_the_font_export_embeds():
    _need(shutil.which("make") is not None, "make is missing: apt-get install -y make")
    plan = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout
    assert "fonts-wqy-microhei" in INSTALL_HINT  # the package export's error names
    font_check, detect = plan.find("fonts-wqy-microhei"), plan.find("graphdetect detect")
    assert 0 <= font_check < detect, plan
    assert "apt-get install" in plan[:detect] and "Please install:" in plan[:detect]
