"""The README's command examples run as written, in order, in a fresh checkout.

The ``bash`` blocks of the README's "Headless use" section are run line by line in one
shell (so ``A=$(twin run ... -q)`` names a run for the lines after it), in a scratch
folder holding a copy of the checkout's scenarios/ and examples/ (and its data/), so
nothing is written into the repository. Every line must exit 0, except ``twin check``,
which exits 1 when a KPI gate fails (that is its job; see its comment).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def readme_commands() -> list[str]:
    """The command lines of the bash blocks under "## Headless use" (comments cut)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Headless use", 1)[1].split("\n## ", 1)[0]
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", section, flags=re.S):
        for line in block.splitlines():
            command = re.sub(r"\s+#\s.*$", "", line).strip()
            if command:
                lines.append(command)
    return lines


def test_the_readme_names_only_files_a_checkout_has():
    commands = readme_commands()
    assert any(c.startswith("twin solve") for c in commands)
    for command in commands:
        for word in command.split():
            if word.startswith(("scenarios/", "examples/")) and "*" not in word:
                assert (ROOT / word).exists(), f"README names {word}, which is not shipped"
    assert not any("<" in c for c in commands), "placeholders do not run as written"


def test_every_readme_command_runs_as_written(tmp_path: Path):
    for folder in ("scenarios", "examples"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    (tmp_path / "data").symlink_to(ROOT / "data")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    script = ["set -u"]
    for command in readme_commands():
        allowed = "0 1" if command.startswith("twin check") else "0"
        script.append(f"echo '>>> {command}'")
        script.append(f"{command}\nrc=$?; case \" {allowed} \" in *\" $rc \"*) ;; *) "
                      f"echo \"README command failed with exit $rc: {command}\"; exit 9;; "
                      "esac")
    result = subprocess.run(["bash", "-c", "\n".join(script)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=1500)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr
    assert not (tmp_path / "checks.xml").exists()
    assert (tmp_path / "sweeps" / "ci_smoke" / "checks.junit.xml").is_file()
    assert (tmp_path / "sweeps" / "ci_smoke" / "report.html").is_file()
    runs = [p for p in (tmp_path / "runs").iterdir() if (p / "manifest.json").is_file()]
    assert len(runs) >= 4
    assert all((p / "layout.json").is_file() for p in runs)
