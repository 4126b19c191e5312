"""A wheel built from the repo works outside the source tree."""

import shutil
import subprocess
import sys

from .conftest import ROOT, as_json, golive


def clean_checkout(dest):
    """The files a fresh clone would have (tracked plus new, not ignored): git keeps no empty
    directories, so a wheel built from the working tree could pass here and fail in CI."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, check=True, capture_output=True).stdout.decode()
    for name in filter(None, listed.split("\0")):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def test_wheel_outside_the_tree(lab, tmp_path_factory):
    work = tmp_path_factory.mktemp("wheel")
    source = clean_checkout(tmp_path_factory.mktemp("source"))
    built = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir",
                            str(work / "dist"), str(source)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
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
    assert len(document["hosts"]) == 10
    assert all(s["ok"] == 1 and s["failed"] == 0 for s in document["hosts"].values())
    named = golive("run", "common", "--check", "-l", "acme", "--json", cmd=cmd, cwd=work)
    assert named.returncode == 0, named.stderr
    assert as_json(named)["hosts"]["acme"]["changed"] == 0
