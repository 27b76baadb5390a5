"""The scripts under tools/ use kerasdil as any user would: its installed, public API.

Read with ``ast`` (nothing is run): no ``sys.path`` changes, no imports of private
kerasdil modules or names, no writes to kerasdil's module attributes.
"""

import ast
import glob
import os

import pytest

TOOLS = sorted(glob.glob(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools", "*.py")))

#: Tools that still switch kerasdil.layers internals for their ablations, and why.
#: kerasdil.layers has no public switch for these code paths yet.
# Tools that may switch layer internals (none).
SWITCHES_LAYER_INTERNALS = {}


def _tree(path):
    with open(path, encoding="utf-8") as f:
        return ast.parse(f.read(), path)


def _private(dotted):
    return any(part.startswith("_") and not part.startswith("__") for part in dotted.split("."))


@pytest.fixture(params=TOOLS, ids=os.path.basename)
def tool(request):
    return request.param


def test_there_are_tools():
    assert len(TOOLS) >= 10


def test_tool_does_not_patch_sys_path(tool):
    for node in ast.walk(_tree(tool)):
        if isinstance(node, ast.Attribute) and node.attr == "path":
            value = node.value
            assert not (isinstance(value, ast.Name) and value.id == "sys"), (
                f"{os.path.basename(tool)}:{node.lineno} touches sys.path; tools run against the installed kerasdil."
            )


def test_tool_imports_only_public_kerasdil_names(tool):
    for node in ast.walk(_tree(tool)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            pytest.fail(f"{os.path.basename(tool)}:{node.lineno} uses a relative import")
        else:
            continue
        for name in names:
            if name.startswith("kerasdil"):
                assert not _private(name), (
                    f"{os.path.basename(tool)}:{node.lineno} imports {name}, a private part of kerasdil; "
                    "make what it needs a public, documented function of the library."
                )
            else:
                assert not _private(name.split(".")[0]), (
                    f"{os.path.basename(tool)}:{node.lineno} imports the tools-local {name}; tools import kerasdil only."
                )


def test_tool_does_not_set_module_attributes(tool):
    if os.path.basename(tool) in SWITCHES_LAYER_INTERNALS:
        pytest.skip(SWITCHES_LAYER_INTERNALS[os.path.basename(tool)])
    for node in ast.walk(_tree(tool)):
        is_setattr = isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr"
        assert not is_setattr, f"{os.path.basename(tool)}:{node.lineno} calls setattr"
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and _private(node.attr):
            pytest.fail(f"{os.path.basename(tool)}:{node.lineno} assigns the private attribute {node.attr}")
