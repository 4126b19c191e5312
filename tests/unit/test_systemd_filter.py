"""golive.ops.systemctl_show (plugins/filter/systemd.py): systemctl show's output per unit, read by
the redis preflight (other flavors' units) and `golive tls status` (certbot's timer and service)."""

import pytest

from .conftest import collection_modules

TWO_UNITS = ("Id=valkey-server.service\nActiveState=active\nUnitFileState=enabled\n\n"
             "Id=redis-sentinel.service\nActiveState=inactive\nUnitFileState=\n")


@pytest.fixture(scope="module")
def f(tmp_path_factory):
    with collection_modules(tmp_path_factory, systemd="filter.systemd") as modules:
        yield modules.systemd


def test_one_dict_per_unit_in_order(f):
    assert f.systemctl_show(TWO_UNITS) == [
        {"Id": "valkey-server.service", "ActiveState": "active", "UnitFileState": "enabled"},
        {"Id": "redis-sentinel.service", "ActiveState": "inactive", "UnitFileState": ""}]


def test_values_keep_their_equal_signs_and_nothing_is_nothing(f):
    assert f.systemctl_show("Environment=A=1 B=2\n") == [{"Environment": "A=1 B=2"}]
    assert f.systemctl_show("") == []


@pytest.mark.parametrize("bad", ["not a property line", None])
def test_refuses_what_is_not_systemctl_show(f, bad):
    with pytest.raises(f.AnsibleFilterError, match="systemctl_show"):
        f.systemctl_show(bad)
