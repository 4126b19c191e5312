"""The deploy's preflight of an artifact's Pythons (plugins/filter/artifact.py): the host's
Python must be one the artifact has wheels for; release.json's `pythons` says which, and an
artifact built before that key is judged by its wheels' tags."""

import pytest

from .conftest import collection_modules

PY3 = ["golive_sample_app-1.0.0-py3-none-any.whl", "redis-5.3.1-py3-none-any.whl",
       "gunicorn-23.0.0-py3-none-any.whl"]
PSYCOPG = "psycopg2_binary-2.9.10-{tag}-{tag}-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"
OLD_311 = [f"golive-sample-app-1.0.0/wheels/{w}"
           for w in [*PY3, PSYCOPG.format(tag="cp311")]]  # `tar -t` lines of a pre-change build
RELEASE = {"name": "golive-sample-app", "version": "2.0.0"}


@pytest.fixture(scope="module")
def f(tmp_path_factory):
    with collection_modules(tmp_path_factory, artifact="filter.artifact") as modules:
        yield modules.artifact


def version(major, minor):
    """ansible_facts.python.version as the setup module reports it."""
    return {"major": major, "minor": minor, "micro": 2, "releaselevel": "final", "serial": 0}


@pytest.mark.parametrize("python", ["3.11", "3.13", version(3, 13)])
def test_a_host_whose_python_the_artifact_lists_is_served(f, python):
    release = {**RELEASE, "pythons": ["3.11", "3.13"]}
    assert f.artifact_python_refusal(release, "web1", python) == ""
    assert f.artifact_pythons(release) == ["3.11", "3.13"]


def test_a_host_whose_python_is_missing_is_refused_naming_host_python_and_pythons(f):
    msg = f.artifact_python_refusal({**RELEASE, "pythons": ["3.11"]}, "web2", version(3, 13))
    assert msg.startswith("web2 runs Python 3.13; ")
    assert "golive-sample-app 2.0.0 has wheels for Python 3.11 only" in msg
    assert msg.endswith("(examples/app/build.py --python 3.11,3.13)")


@pytest.mark.parametrize("pythons", [[], "3.11", ["3"], ["3.11", 313]])
def test_a_malformed_pythons_list_is_refused(f, pythons):
    msg = f.artifact_python_refusal({**RELEASE, "pythons": pythons}, "web1", "3.11")
    assert "release.json's pythons must be a non-empty list of X.Y" in msg


@pytest.mark.parametrize(("python", "refused"), [("3.11", False), ("3.13", True),
                                                 ("3.12", True)])
def test_an_old_artifact_is_judged_by_its_wheels_tags(f, python, refused):
    msg = f.artifact_python_refusal(RELEASE, "web1", python, OLD_311)
    assert bool(msg) is refused
    if refused:
        assert f"web1 runs Python {python}; " in msg
        assert "judged by its wheels' tags) has wheels for Python 3.11 only" in msg
    assert f.artifact_pythons(RELEASE, OLD_311) == ["3.11"]


def test_an_old_artifact_of_pure_and_abi3_wheels_serves_later_pythons(f):
    wheels = [*PY3, "cryptography-44.0.0-cp39-abi3-manylinux_2_28_x86_64.whl"]
    assert f.artifact_python_refusal(RELEASE, "web1", "3.13", wheels) == ""
    assert f.artifact_python_refusal(RELEASE, "web1", "3.8", wheels) != ""
    assert f.artifact_pythons(RELEASE, PY3) is None  # not tied to any Python
    assert f.artifact_python_refusal(RELEASE, "web1", "3.13", PY3) == ""


def test_an_old_artifact_whose_distributions_share_no_python_names_its_tags(f):
    wheels = [*PY3, PSYCOPG.format(tag="cp311"), "lxml-5.3.0-cp313-cp313-manylinux_2_28_x86_64.whl"]
    msg = f.artifact_python_refusal(RELEASE, "web1", "3.11", wheels)
    assert "has wheels for no single Python (cp tags of 3.11, 3.13)" in msg


@pytest.mark.parametrize(("name", "expected"), [
    ("redis-5.3.1-py3-none-any.whl", ("redis", [("py3", "none")])),
    ("six-1.16.0-py2.py3-none-any.whl", ("six", [("py2", "none"), ("py3", "none")])),
    ("Foo.Bar-1.0-1build-cp313-cp313-linux_x86_64.whl", ("foo_bar", [("cp313", "cp313")])),
    ("dir/release.json", None),
])
def test_wheel_tags(f, name, expected):
    assert f.wheel_tags(name) == expected


def test_bad_python_versions_and_a_missing_wheel_list_are_errors(f):
    from ansible.errors import AnsibleFilterError

    with pytest.raises(AnsibleFilterError, match=r"is X\.Y"):
        f.python_of("3")
    with pytest.raises(AnsibleFilterError, match="major and minor"):
        f.python_of({"major": 3})
    with pytest.raises(AnsibleFilterError, match="wheel names are needed"):
        f.artifact_python_refusal(RELEASE, "web1", "3.13")
