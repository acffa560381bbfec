"""A plain (non-editable) install of the built wheel works: models/ ships inside the package."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv

import pandas as pd
from conftest import ROOT, SAMPLE


def test_built_wheel_installs_and_runs_themes(tmp_path, shared_cache):
    source = tmp_path / "src"
    shutil.copytree(ROOT / "pipeline", source / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    wheels = tmp_path / "wheels"
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", wheels]
    subprocess.run([*build, source], check=True, cwd=tmp_path)
    (wheel,) = wheels.glob("insightmap-*.whl")

    # A fresh venv; the dependencies (not insightmap) come from this environment through a plain path entry.
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], check=True, text=True,
        capture_output=True,
    ).stdout.strip()  # fmt: skip
    (env_dir / site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", wheel],
                   check=True)  # fmt: skip

    where = subprocess.run(
        [python, "-c", "import pipeline; print(pipeline.__file__)"], check=True, text=True, capture_output=True,
        cwd=tmp_path,
    ).stdout  # fmt: skip
    assert str(env_dir) in where, where  # the installed copy, not the checkout
    out = tmp_path / "out"
    result = subprocess.run(
        [env_dir / "bin" / "insightmap", "themes", SAMPLE, "-o", out, "--cache-dir", shared_cache],
        text=True, capture_output=True, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    themes = pd.read_csv(out / "themes.csv")
    assert len(themes) >= 8 and set(themes["zone"]) & {"goals", "motivations", "concerns"}
    assert (out / "personas.md").is_file()
    assert "Content-Security-Policy" in (out / "report.html").read_text(encoding="utf-8")  # templates ship too
