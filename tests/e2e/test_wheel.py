"""A wheel built from the repo works outside the source tree."""

import shutil
import subprocess
import sys

from .conftest import ROOT, as_json, golive


def test_wheel_outside_the_tree(lab, tmp_path_factory):
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(work / "dist"),
                    str(ROOT)], check=True, capture_output=True, timeout=600)
    wheel = next((work / "dist").glob("golive-*.whl"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run([venv / "bin" / "pip", "install", "-q", str(wheel)], check=True,
                   capture_output=True, timeout=900)
    shutil.copy(ROOT / "tests" / "fixtures" / "noop.yml", work / "noop.yml")
    site = subprocess.run([venv / "bin" / "python", "-c", "import golive.paths as p; "
                           "print(p.project_root())"], cwd=work, capture_output=True, text=True,
                          check=True).stdout.strip()
    assert site.startswith(str(venv)) and site.endswith("golive/_project")

    cmd = [str(venv / "bin" / "golive")]
    helped = golive("--help", cmd=cmd, cwd=work)
    assert helped.returncode == 0 and "converge" in helped.stdout
    ran = golive("run", "noop.yml", "--json", cmd=cmd, cwd=work)
    assert ran.returncode == 0, ran.stderr
    document = as_json(ran)
    assert len(document["hosts"]) == 9
    assert all(s["ok"] == 1 and s["failed"] == 0 for s in document["hosts"].values())
    named = golive("run", "common", "--check", "-l", "acme", "--json", cmd=cmd, cwd=work)
    assert named.returncode == 0, named.stderr
    assert as_json(named)["hosts"]["acme"]["changed"] == 0
