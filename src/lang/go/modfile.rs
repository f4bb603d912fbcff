//! What `go.mod` and `go.work` say beyond the module path: the local folders `replace`
//! directives point at (`replace example.com/lib => ../lib`), which decide whether an import of
//! another module of the repository builds against its files or a published version (and which
//! a copy of the repository must still reach), and the modules a workspace `use`s.

/// The local targets of a `go.mod`'s `replace` directives, as written (`../lib`, `./vendor/x`),
/// single-line and block forms alike. Module targets (`=> example.com/fork v1.2.0`) are not
/// folders and are left out.
pub fn local_replacements(text: &str) -> Vec<String> {
    replacements(text).into_iter().map(|(_, t)| t).collect()
}

/// The folders a `go.work` `use`s, as written (`./app`, `.`), single-line and block forms.
pub fn workspace_uses(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or("").trim();
        if in_block {
            if line.starts_with(')') {
                in_block = false;
            } else if !line.is_empty() {
                out.push(line.trim_matches('"').to_string());
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("use")
            && rest.starts_with([' ', '\t', '('])
        {
            let rest = rest.trim();
            if rest.starts_with('(') {
                in_block = true;
            } else if !rest.is_empty() {
                out.push(rest.trim_matches('"').to_string());
            }
        }
    }
    out
}

/// A `go.mod`'s `replace` directives with local targets: (the replaced module path, the
/// folder as written).
pub fn replacements(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or("").trim();
        let directive = if in_block {
            if line.starts_with(')') {
                in_block = false;
                continue;
            }
            line
        } else if let Some(rest) = line.strip_prefix("replace") {
            let rest = rest.trim_start();
            if rest.starts_with('(') {
                in_block = true;
                continue;
            }
            if rest.len() == line.len() - "replace".len() && !line.starts_with("replace ") {
                continue;
            }
            rest
        } else {
            continue;
        };
        let Some((module, target)) = directive.split_once("=>") else {
            continue;
        };
        let module = module
            .split_whitespace()
            .next()
            .unwrap_or("")
            .trim_matches('"')
            .to_string();
        let target = target.trim().trim_matches('"');
        // A local target is a path (`./x`, `../x`, absolute) and has no version after it.
        let mut words = target.split_whitespace();
        if let (Some(path), None) = (words.next(), words.next())
            && (path.starts_with("./") || path.starts_with("../") || path.starts_with('/'))
        {
            out.push((module, path.to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacements_of_both_forms() {
        let text = "module example.com/app\n\nreplace example.com/lib => ../lib\n\nreplace (\n\texample.com/a v1.0.0 => ./third_party/a // vendored\n\texample.com/b => example.com/b-fork v1.2.0\n\t\"example.com/c\" => \"../../c\"\n)\nreplaced := 1\n";
        assert_eq!(
            local_replacements(text),
            ["../lib", "./third_party/a", "../../c"]
        );
        assert_eq!(
            replacements(text)[0],
            ("example.com/lib".into(), "../lib".into())
        );
    }

    #[test]
    fn workspace_uses_of_both_forms() {
        assert_eq!(
            workspace_uses("go 1.22\n\nuse ./app\nuse (\n\t.\n\t\"./tools\" // the tools\n)\n"),
            ["./app", ".", "./tools"]
        );
    }
}
