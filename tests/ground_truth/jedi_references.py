"""Ground truth for Python references: jedi's `get_references` at each definition, and jedi's
`goto` at each place git-ripple says names it.

Reads JSON from stdin: {"root": ..., "sys_path": [...], "symbols": [{"definitions": [[file,
line, column], ...], "sites": [[file, line, column], ...]}, ...]} (lines and columns 1-based,
as git-ripple reports them). Writes JSON to stdout, one object per symbol:
{"references": [...], "confirmed": [...]}: every place jedi's `get_references` at the first
definition lists (the definition included), and those of `sites` where jedi's `goto` lands on
one of the symbol's definitions. jedi is independent of git-ripple: its own parser and
inference.

A `goto` that lands on `self.NAME = …` in a method of the definition's class, or of a subclass,
confirms a class attribute `NAME = …`: jedi keeps the two apart, the interpreter reads one
attribute (the instance's shadows the class's; renaming one alone breaks the reads of the
other).

jedi is made exhaustive and kept to the repository: `get_references` stops after 30 files that
mention the name unless told otherwise (its `_PARSED_FILE_LIMIT`), and an installed copy of the
package under test (click is a dependency of black) must not shadow the repository's sources,
so site-packages is left off the path. pytest alone is put back (a folder holding only links
to `pytest` and `_pytest`): jedi's pytest plugin knows a fixture by its decorator inferring to
`_pytest.fixtures.fixture`, and fills test and fixture parameters with what the fixtures
return. The project's root is last on the path, as pytest's rootdir is in its default import
mode: jedi looks for `conftest.py` only in folders under the path.

jedi's plugin skips fixtures a test class defines (its own comment: "Class fixtures are not
supported"); pytest finds them first. The lookup in the test's class is added here; what the
fixture gives is still jedi's own inference.
"""

import atexit
import importlib.util
import json
import os
import shutil
import sys
import tempfile

import jedi
import jedi.inference.references as jedi_references
import jedi.plugins.pytest as jedi_pytest

jedi_references._PARSED_FILE_LIMIT = 10**9
jedi_references._OPENED_FILE_LIMIT = 10**9


def pytest_only():
    """A folder on which only pytest and _pytest can be imported (empty if pytest is absent)."""
    folder = tempfile.mkdtemp(prefix="jedi-pytest-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    for package in ("pytest", "_pytest"):
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            os.symlink(spec.submodule_search_locations[0], os.path.join(folder, package))
    return folder


_asked = {}
_plugin_is_param = jedi_pytest._is_a_pytest_param_and_inherited
_plugin_goto_fixture = jedi_pytest._goto_pytest_fixture


def _is_param(param_name):
    _asked["param"] = param_name
    return _plugin_is_param(param_name)


def _goto_fixture(module_context, name, skip_own_module):
    """The test class's own fixture of that name first, then the plugin's lookup."""
    param = _asked.get("param")
    funcdef = param.tree_name.search_ancestor("funcdef") if param is not None else None
    classdef = funcdef.search_ancestor("classdef") if funcdef is not None else None
    if classdef is not None and funcdef.name.value != name:
        try:
            class_context = module_context.create_context(classdef.children[-1])
            names = jedi_pytest.FixtureFilter(class_context).get(name)
        except Exception:  # jedi's own failure: fall back to its lookup
            names = []
        if names:
            return names
    return _plugin_goto_fixture(module_context, name, skip_own_module)


jedi_pytest._is_a_pytest_param_and_inherited = _is_param
jedi_pytest._goto_pytest_fixture = _goto_fixture


def relative(root, name):
    if name.module_path is None or name.line is None:
        return None
    rel = os.path.relpath(str(name.module_path), root)
    if rel.startswith(".."):
        return None
    return (rel.replace(os.sep, "/"), name.line, name.column + 1)


def position(name):
    return (str(name.module_path), name.line, name.column)


def class_of_attribute(name):
    """The class whose attribute `name` binds through `self.` or `cls.` in one of its
    methods, or None."""
    code = name.get_line_code()
    before = code[: name.column] if code else ""
    if not before.endswith(("self.", "cls.")):
        return None
    method = name.parent()
    if method is None or method.type != "function":
        return None
    owner = method.parent()
    return owner if owner is not None and owner.type == "class" else None


def attribute_owner(root, project, definition):
    """(the class's position, the name) when `definition` is a class attribute, else ()."""
    path, line, column = definition
    fresh = jedi.Script(path=os.path.join(root, path), project=project)
    for d in fresh.goto(line, column - 1):
        parent = d.parent()
        if parent is not None and parent.type == "class":
            return (position(parent), d.name)
    return ()


def mro(class_name):
    """Positions of the classes in `class_name`'s MRO (jedi's own inference)."""
    out = set()
    for value in class_name._name.infer():
        for c in value.py__mro__():
            node = getattr(c, "tree_node", None)
            if node is None or not hasattr(node, "name"):
                continue
            line, column = node.name.start_pos
            out.add((str(c.get_root_context().py__file__()), line, column))
    return out


def main() -> None:
    request = json.load(sys.stdin)
    root = os.path.abspath(request["root"])
    base = [p for p in sys.path if p and "site-packages" not in p and "dist-packages" not in p]
    project = jedi.Project(
        root,
        sys_path=[os.path.join(root, p) for p in request["sys_path"]]
        + base
        + [pytest_only(), root],
        smart_sys_path=False,
    )
    scripts = {}

    def script(path):
        if path not in scripts:
            scripts[path] = jedi.Script(path=os.path.join(root, path), project=project)
        return scripts[path]

    out = []
    for symbol in request["symbols"]:
        definitions = [tuple(d) for d in symbol["definitions"]]
        path, line, column = definitions[0]
        refs = set()
        for name in script(path).get_references(line, column - 1, scope="project"):
            site = relative(root, name)
            if site is not None:
                refs.add(site)
        confirmed = []
        # A class attribute's (class position, name), asked for when a site needs it.
        owner = None
        for path, line, column in symbol["sites"]:
            if (path, line, column) in refs:
                continue
            # A fresh script: one that answered get_references can answer goto from stale
            # inference state.
            fresh = jedi.Script(path=os.path.join(root, path), project=project)
            try:
                names = fresh.goto(line, column - 1, follow_imports=True)
            except Exception:  # jedi's own failure: the site stays unconfirmed
                names = []
            if any(relative(root, n) in definitions for n in names):
                confirmed.append((path, line, column))
                continue
            if owner is None:
                owner = attribute_owner(root, project, definitions[0])
            if owner and any(
                n.name == owner[1]
                and (c := class_of_attribute(n)) is not None
                and owner[0] in mro(c)
                for n in names
            ):
                confirmed.append((path, line, column))
        out.append({"references": sorted(refs), "confirmed": confirmed})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
