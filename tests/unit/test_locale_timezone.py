"""golive.ops.locale_timezone: pure helpers, and main() on a scratch root with a real
AnsibleModule whose exit_json/fail_json raise (locale -a and locale-gen are fakes)."""

import os

import pytest

from .conftest import collection_modules, run_main

LOCALE_GEN = "# Locales\n\n# de_DE.UTF-8 UTF-8\n# en_US ISO-8859-1\n# en_US.UTF-8 UTF-8\n"
SUPPORTED = "de_DE.UTF-8 UTF-8\nen_US.UTF-8 UTF-8\nen_GB.UTF-8 UTF-8\n"
LANG_FILE = "#\n# Ansible managed\n#\nLANG=en_US.UTF-8\n"


@pytest.fixture(scope="module")
def mod(tmp_path_factory):
    with collection_modules(tmp_path_factory, m="modules.locale_timezone") as ns:
        yield ns.m


@pytest.mark.parametrize(("name", "listed"), [
    ("en_US.UTF-8", "en_US.utf8"),
    ("en_US.utf8", "en_US.utf8"),
    ("de_DE.ISO-8859-15", "de_DE.iso885915"),
    ("be_BY.UTF-8@latin", "be_BY.utf8@latin"),
    ("C", "C"),
])
def test_normalize_matches_locale_a(mod, name, listed):
    assert mod.normalize(name) == listed
    assert mod.is_generated(name, f"C\nPOSIX\n{listed}\n")


def test_not_generated(mod):
    assert not mod.is_generated("en_US.UTF-8", "C\nC.utf8\nPOSIX\nen_GB.utf8\n")


@pytest.mark.parametrize(("locale", "before", "after"), [
    # commented out: uncommented in place (not the ISO-8859-1 one)
    ("en_US.UTF-8", LOCALE_GEN, LOCALE_GEN.replace("# en_US.UTF-8", "en_US.UTF-8")),
    # already enabled: the same text
    ("de_DE.UTF-8", "de_DE.UTF-8 UTF-8\n", "de_DE.UTF-8 UTF-8\n"),
    # not listed: appended with SUPPORTED's charset, a missing final newline added first
    ("en_GB.UTF-8", "# x", "# x\nen_GB.UTF-8 UTF-8\n"),
    ("en_GB.UTF-8", "", "en_GB.UTF-8 UTF-8\n"),
])
def test_enable_in_locale_gen(mod, locale, before, after):
    assert mod.enable_in_locale_gen(before, locale, SUPPORTED) == after


def test_enable_refuses_a_locale_nobody_offers(mod):
    assert mod.enable_in_locale_gen(LOCALE_GEN, "xx_XX.UTF-8", SUPPORTED) is None


def test_plan_orders_changes_and_is_empty_when_equal(mod):
    same = {"locale_gen": "a", "generated": True, "/etc/default/locale": ("x", 0o644, 0, 0),
            "/etc/timezone": ("UTC\n", 0o644, 0, 0), "/etc/localtime": "/z/UTC"}
    assert mod.plan(same, dict(same)) == []
    current = {**same, "locale_gen": "b", "generated": False, "/etc/localtime": None,
               "/etc/timezone": ("UTC\n", 0o600, 0, 0)}
    assert mod.plan(current, same) == ["/etc/locale.gen", "locale-gen", "/etc/timezone",
                                       "/etc/localtime"]


@pytest.fixture
def host(tmp_path):
    """A scratch root with a Debian host's files: locale not enabled, zone UTC."""
    for path, text in {"etc/locale.gen": LOCALE_GEN, "usr/share/i18n/SUPPORTED": SUPPORTED,
                       "usr/share/zoneinfo/UTC": "TZif", "usr/share/zoneinfo/Europe/Berlin":
                       "TZif", "etc/timezone": "Etc/UTC\n"}.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    (tmp_path / "etc/default").mkdir()
    os.symlink("/usr/share/zoneinfo/Etc/UTC", tmp_path / "etc/localtime")
    return tmp_path


class Locales:
    """Fake locale -a / locale-gen: locale-gen generates what /etc/locale.gen enables."""

    def __init__(self, root, listed=("C", "C.utf8", "POSIX")):
        self.root, self.listed, self.generated = root, list(listed), 0

    def list(self):
        return "\n".join(self.listed) + "\n"

    def generate(self):
        self.generated += 1
        for line in (self.root / "etc/locale.gen").read_text().splitlines():
            if line and not line.startswith("#"):
                self.listed.append(line.split()[0].replace("UTF-8", "utf8"))


ARGS = {"locale": "en_US.UTF-8", "locale_file": LANG_FILE,
        "timezone": "Europe/Berlin"}


def converge(mod, host, locales, args=None, **extra):
    return run_main(mod, {**ARGS, **(args or {}), **extra}, root=str(host),
                    list_locales=locales.list, generate=locales.generate,
                    owner=(os.getuid(), os.getgid()))


def test_converge_then_nothing_to_do(mod, host, ansible_module):
    locales = Locales(host)
    failed, result = converge(mod, host, locales)
    assert not failed and result["changed"]
    assert result["changes"] == ["/etc/locale.gen", "locale-gen", "/etc/default/locale",
                                 "/etc/timezone", "/etc/localtime"]
    assert locales.generated == 1
    assert "\nen_US.UTF-8 UTF-8\n" in (host / "etc/locale.gen").read_text()
    assert (host / "etc/default/locale").read_text() == LANG_FILE
    assert oct((host / "etc/default/locale").stat().st_mode & 0o777) == "0o644"
    assert (host / "etc/timezone").read_text() == "Europe/Berlin\n"
    assert os.readlink(host / "etc/localtime") == "/usr/share/zoneinfo/Europe/Berlin"

    failed, again = converge(mod, host, locales)
    assert (failed, again["changed"], again["changes"]) == (False, False, [])
    assert locales.generated == 1  # locale-gen does not run when locale -a lists it


TMPFILES_LINK = "L+ /etc/default/locale - - -  -  ../locale.conf\n"


def test_tmpfiles_link_is_read_from_the_effective_files(mod):
    assert mod.tmpfiles_link({"debian.conf": "# x\n" + TMPFILES_LINK}, "/etc/default/locale") \
        == "../locale.conf"
    assert mod.tmpfiles_link({"debian.conf": "L /etc/other - - - - x\n"},
                             "/etc/default/locale") is None
    assert mod.tmpfiles_link({}, "/etc/default/locale") is None


def test_a_locale_linked_by_tmpfiles_survives_a_reboot(mod, host, ansible_module):
    """Debian 13: systemd-tmpfiles makes /etc/default/locale a symlink to ../locale.conf at
    every boot. A file written over the link was lost at the next boot (LANG gone, and the
    next converge changed again): the locale goes into the link's target."""
    (host / "usr/lib/tmpfiles.d").mkdir(parents=True)
    (host / "usr/lib/tmpfiles.d/debian.conf").write_text(TMPFILES_LINK)
    (host / "etc/default/locale").write_text("LANG=C\n")  # what an older golive left
    locales = Locales(host)
    failed, result = converge(mod, host, locales)
    assert not failed and "/etc/locale.conf" in result["changes"], result
    assert "/etc/default/locale" in result["changes"]
    assert (host / "etc/locale.conf").read_text() == LANG_FILE
    assert os.readlink(host / "etc/default/locale") == "../locale.conf"

    # the boot: tmpfiles puts the same link back, the locale is still there, nothing to do
    os.unlink(host / "etc/default/locale")
    os.symlink("../locale.conf", host / "etc/default/locale")
    assert (host / "etc/default/locale").read_text() == LANG_FILE
    failed, again = converge(mod, host, locales)
    assert (failed, again["changes"]) == (False, [])

    # an /etc/tmpfiles.d file of the same name masks the rule: a plain file again
    (host / "etc/tmpfiles.d").mkdir()
    (host / "etc/tmpfiles.d/debian.conf").write_text("")
    failed, masked = converge(mod, host, locales)
    assert not failed and masked["changes"] == ["/etc/default/locale"]
    assert not os.path.islink(host / "etc/default/locale")
    assert (host / "etc/default/locale").read_text() == LANG_FILE


def test_generated_locale_is_not_regenerated(mod, host, ansible_module):
    locales = Locales(host, listed=("C", "en_US.utf8"))
    failed, result = converge(mod, host, locales)
    assert not failed and "locale-gen" not in result["changes"]
    assert locales.generated == 0


def test_a_wrong_mode_is_a_change(mod, host, ansible_module):
    locales = Locales(host)
    converge(mod, host, locales)
    (host / "etc/timezone").chmod(0o600)
    _, result = converge(mod, host, locales)
    assert result["changes"] == ["/etc/timezone"]
    assert oct((host / "etc/timezone").stat().st_mode & 0o777) == "0o644"


def test_check_mode_changes_nothing_and_diff_names_the_parts(mod, host, ansible_module):
    locales = Locales(host)
    failed, result = converge(mod, host, locales, _ansible_check_mode=True, _ansible_diff=True)
    assert not failed and result["changed"] and locales.generated == 0
    assert (host / "etc/locale.gen").read_text() == LOCALE_GEN
    assert os.readlink(host / "etc/localtime") == "/usr/share/zoneinfo/Etc/UTC"
    assert "/etc/locale.gen: # en_US.UTF-8 UTF-8" in result["diff"]["before"]
    assert "/etc/locale.gen: en_US.UTF-8 UTF-8" in result["diff"]["after"]
    assert "/etc/localtime -> /usr/share/zoneinfo/Europe/Berlin" in result["diff"]["after"]


@pytest.mark.parametrize(("args", "words"), [
    ({"timezone": "US/Eastern", "zone_hint": "; see tzdata-legacy"},
     ["time zone 'US/Eastern' does not exist under /usr/share/zoneinfo; see tzdata-legacy"]),
    ({"locale": "xx_XX.UTF-8"}, ["locale 'xx_XX.UTF-8'", "SUPPORTED"]),
])
def test_bad_input_fails_before_anything_changes(mod, host, ansible_module, args, words):
    locales = Locales(host)
    failed, result = converge(mod, host, locales, args)
    assert failed and all(w in result["msg"] for w in words), result["msg"]
    assert (host / "etc/locale.gen").read_text() == LOCALE_GEN
    assert not (host / "etc/default/locale").exists() and locales.generated == 0
    assert os.readlink(host / "etc/localtime") == "/usr/share/zoneinfo/Etc/UTC"


def test_locale_gen_that_does_not_generate_fails(mod, host, ansible_module):
    locales = Locales(host)
    locales.generate = lambda: None
    failed, result = converge(mod, host, locales)
    assert failed and "locale -a does not list en_US.UTF-8" in result["msg"]
