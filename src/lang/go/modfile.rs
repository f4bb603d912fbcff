//! What `go.mod` says beyond the module path: the local folders its `replace` directives point
//! at (`replace example.com/lib => ../lib`), which a build reads and a copy of the repository
//! must still reach.

/// The local targets of a `go.mod`'s `replace` directives, as written (`../lib`, `./vendor/x`),
/// single-line and block forms alike. Module targets (`=> example.com/fork v1.2.0`) are not
/// folders and are left out.
pub fn local_replacements(text: &str) -> Vec<String> {
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
        let Some((_, target)) = directive.split_once("=>") else {
            continue;
        };
        let target = target.trim().trim_matches('"');
        // A local target is a path (`./x`, `../x`, absolute) and has no version after it.
        let mut words = target.split_whitespace();
        if let (Some(path), None) = (words.next(), words.next())
            && (path.starts_with("./") || path.starts_with("../") || path.starts_with('/'))
        {
            out.push(path.to_string());
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
    }
}
