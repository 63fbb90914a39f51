"""The package as a user gets it: `pip wheel`/`pip install ./packages/python` builds a wheel with
the extension, its stubs and py.typed, which installs into a fresh virtualenv and serves; and
`python -m spikard run module:app` serves an app, stops on Ctrl-C and names a bad target."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent
ROOT = PKG.parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(bool(os.environ.get("SPK_PY_SANITIZE")), reason="the wheel links the plain core")
def test_wheel_builds_installs_and_serves(tmp_path: Path) -> None:
    # A copy of the package beside the real headers, so the build leaves the source tree alone.
    repo = tmp_path / "repo"
    (repo / "packages").mkdir(parents=True)
    shutil.copytree(PKG, repo / "packages" / "python",
                    ignore=shutil.ignore_patterns("build", "*.so", "*.egg-info", "__pycache__", "tests"))
    (repo / "include").symlink_to(ROOT / "include")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    lib_dir = os.environ.get("SPK_CMAKE_BUILD_DIR")
    if lib_dir:  # link the core this test run built; without it setup.py builds the core with CMake
        env["SPIKARD_LIB_DIR"] = lib_dir
    else:
        (repo / "CMakeLists.txt").symlink_to(ROOT / "CMakeLists.txt")
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "--no-deps",
                    "-w", str(dist), str(repo / "packages" / "python")], env=env, check=True, timeout=600)
    wheels = list(dist.glob("spikard-*.whl"))
    assert len(wheels) == 1, wheels
    names = zipfile.ZipFile(wheels[0]).namelist()
    assert any(n.startswith("spikard/_spikard") and n.endswith(".so") for n in names), names
    for member in ("spikard/py.typed", "spikard/_spikard.pyi", "spikard/app.py", "spikard/testing.py"):
        assert member in names, member

    venv = tmp_path / "venv"  # msgspec (the one runtime dependency) comes from the system site
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps",
                    "--no-index", str(wheels[0])], env=env, check=True, timeout=300)
    script = (
        "import spikard, sys\n"
        "from spikard import App\n"
        "from spikard.testing import TestClient\n"
        "app = App()\n"
        "@app.get('/users/{id:int}')\n"
        "def user(id: int):\n"
        "    return {'id': id}\n"
        "c = TestClient(app)\n"
        "assert c.get('/users/7').json() == {'id': 7}\n"
        "assert c.get('/users/x').status_code == 422\n"
        "print(spikard.__file__)\n"
    )
    out = subprocess.run([str(py), "-c", script], env=env, cwd=tmp_path, check=True, capture_output=True,
                         text=True, timeout=60)
    assert out.stdout.strip().startswith(str(venv)), out.stdout  # the installed copy, not the tree


def test_python_m_spikard_run(tmp_path: Path) -> None:
    (tmp_path / "svc.py").write_text(
        "from spikard import App\n"
        "app = App()\n"
        "@app.get('/ping')\n"
        "def ping():\n"
        "    return {'pong': True}\n"
        "def make():\n"
        "    return app\n"
        "not_an_app = 3\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    for target in ("svc:app", "svc:make"):
        port = _free_port()
        proc = subprocess.Popen([sys.executable, "-m", "spikard", "run", target, "--port", str(port)],
                                cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 15
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as r:
                        assert json.loads(r.read()) == {"pong": True}
                    break
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise
                    time.sleep(0.05)
            proc.send_signal(signal.SIGINT)
            assert proc.wait(15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for target, says in (("svc:missing", "has no attribute 'missing'"), ("nosuchmod:app", "cannot import"),
                         ("svc:not_an_app", "not a spikard.App"), (":app", "expected module:attribute")):
        r = subprocess.run([sys.executable, "-m", "spikard", "run", target], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 2 and says in r.stderr, (target, r.returncode, r.stderr)
