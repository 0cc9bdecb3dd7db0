"""Every environment variable the settings read is named in the README's configuration.

An undocumented one is a deployment that cannot be set up from the README: behind a TLS
proxy, `BEHIND_TLS_PROXY` was read but named nowhere, and without it log-ins failed CSRF."""

import ast

from tests.conftest import PROJECT_ROOT


def _environment_variables_read_by_the_settings():
    tree = ast.parse((PROJECT_ROOT / "visionera" / "settings.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        function = node.func
        reads_env = (isinstance(function, ast.Name) and function.id == "env") or (
            isinstance(function, ast.Attribute) and isinstance(function.value, ast.Name)
            and function.value.id == "env")
        first = node.args[0]
        if reads_env and isinstance(first, ast.Constant) and isinstance(first.value, str):
            names.add(first.value)
    return names


def test_the_settings_read_the_environment_this_test_expects():
    names = _environment_variables_read_by_the_settings()
    assert {"SECRET_KEY", "DATABASE_URL", "BEHIND_TLS_PROXY"} <= names


def test_every_setting_from_the_environment_is_in_the_readme():
    readme = (PROJECT_ROOT / "README.md").read_text()
    missing = sorted(name for name in _environment_variables_read_by_the_settings()
                     if f"`{name}`" not in readme)
    assert missing == []
