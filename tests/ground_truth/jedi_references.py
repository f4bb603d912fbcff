"""Ground truth for Python references: jedi's `get_references` at each definition.

Reads JSON from stdin: {"root": ..., "sys_path": [...], "definitions": [[file, line, column],
...]} (line and column 1-based, as git-ripple reports them). Writes JSON to stdout: one list
per definition of [file, line, column] (1-based), every place jedi says names the same thing,
the definition included. jedi is independent of git-ripple: its own parser and inference.
"""

import json
import os
import sys

import jedi


def main() -> None:
    request = json.load(sys.stdin)
    root = request["root"]
    project = jedi.Project(
        root,
        added_sys_path=[os.path.join(root, p) for p in request["sys_path"]],
        smart_sys_path=False,
    )
    scripts = {}
    out = []
    for path, line, column in request["definitions"]:
        script = scripts.get(path)
        if script is None:
            script = jedi.Script(path=os.path.join(root, path), project=project)
            scripts[path] = script
        refs = set()
        for name in script.get_references(line, column - 1, scope="project"):
            if name.module_path is None or name.line is None:
                continue
            rel = os.path.relpath(str(name.module_path), root)
            if rel.startswith(".."):
                continue
            refs.add((rel.replace(os.sep, "/"), name.line, name.column + 1))
        out.append(sorted(refs))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
