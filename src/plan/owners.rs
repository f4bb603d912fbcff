//! Code owners, as GitHub and GitLab read a `CODEOWNERS` file, so batches can be cut by who
//! must approve them (`[batch] group = "owners"`) and every batch says whose it is.
//!
//! Both take the first file found among their locations (GitHub: `.github/`, the root,
//! `docs/`; GitLab: the root, `docs/`, `.gitlab/`); patterns follow gitignore's rules with
//! CODEOWNERS' differences (`docs/*` does not reach into subfolders; no `!` negation). The last
//! matching pattern decides a file's owners, and a pattern without owners leaves it unowned.
//! GitLab sections (`[Backend] @backend-team`, `^[Optional]`, `[Docs][2]`) each decide on
//! their own, entries without owners take the section's default owners, and the owners of
//! every section combine.

use std::collections::BTreeSet;

use globset::{GlobBuilder, GlobMatcher};

use crate::scan::View;

/// Where CODEOWNERS files are looked for, in order (GitHub's, then GitLab's own).
pub const LOCATIONS: &[&str] = &[
    ".github/CODEOWNERS",
    "CODEOWNERS",
    "docs/CODEOWNERS",
    ".gitlab/CODEOWNERS",
];

/// One pattern line.
#[derive(Debug, Clone)]
struct Rule {
    matcher: Vec<GlobMatcher>,
    owners: Vec<String>,
}

/// One GitLab section (GitHub files are one section).
#[derive(Debug, Clone, Default)]
struct Section {
    rules: Vec<Rule>,
}

/// A repository's code owners.
#[derive(Debug, Clone, Default)]
pub struct Owners {
    /// The file they were read from (`None`: the repository has none).
    pub file: Option<String>,
    sections: Vec<Section>,
    /// Lines that could not be read (a bad pattern), with their line numbers.
    pub skipped: Vec<(usize, String)>,
}

impl Owners {
    /// The repository's CODEOWNERS, through the view (the work tree, or as earlier batches
    /// leave it).
    pub fn load(view: View<'_>) -> Owners {
        for location in LOCATIONS {
            if let Some(text) = view.text(location) {
                let mut owners = Owners::parse(&text);
                owners.file = Some((*location).to_string());
                return owners;
            }
        }
        Owners::default()
    }

    /// Read a CODEOWNERS text.
    pub fn parse(text: &str) -> Owners {
        let mut owners = Owners {
            file: None,
            sections: vec![Section::default()],
            skipped: Vec::new(),
        };
        let mut defaults: Vec<String> = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let line = strip_comment(raw);
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if let Some(section_defaults) = section_header(line) {
                defaults = section_defaults;
                owners.sections.push(Section::default());
                continue;
            }
            let (pattern, rest) = split_pattern(line);
            let mut list: Vec<String> = rest.split_whitespace().map(str::to_string).collect();
            if list.is_empty() && owners.sections.len() > 1 {
                list = defaults.clone();
            }
            match matchers(&pattern) {
                Some(matcher) => owners
                    .sections
                    .last_mut()
                    .expect("a section")
                    .rules
                    .push(Rule {
                        matcher,
                        owners: list,
                    }),
                None => owners.skipped.push((n + 1, raw.to_string())),
            }
        }
        owners
    }

    /// Whether the repository has a CODEOWNERS file.
    pub fn is_empty(&self) -> bool {
        self.sections.iter().all(|s| s.rules.is_empty())
    }

    /// The owners of one file (sorted; empty: nobody).
    pub fn of(&self, path: &str) -> Vec<String> {
        let mut out = BTreeSet::new();
        for section in &self.sections {
            if let Some(rule) = section
                .rules
                .iter()
                .rev()
                .find(|r| r.matcher.iter().any(|m| m.is_match(path)))
            {
                out.extend(rule.owners.iter().cloned());
            }
        }
        out.into_iter().collect()
    }

    /// The owners of a set of files together, and how many of them have none.
    pub fn of_files<S: AsRef<str>>(&self, paths: &[S]) -> (Vec<String>, usize) {
        let mut all = BTreeSet::new();
        let mut unowned = 0;
        for p in paths {
            let owners = self.of(p.as_ref());
            if owners.is_empty() {
                unowned += 1;
            }
            all.extend(owners);
        }
        (all.into_iter().collect(), unowned)
    }
}

/// The line without its comment (`\#` is a literal `#`).
fn strip_comment(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'#') => {
                out.push('\\');
                out.push('#');
                chars.next();
            }
            '#' => break,
            _ => out.push(c),
        }
    }
    out
}

/// A GitLab section header's default owners (`[Docs] @docs`, `^[Optional][2] @a`), or `None`
/// when the line is not a header.
fn section_header(line: &str) -> Option<Vec<String>> {
    let rest = line.strip_prefix('^').unwrap_or(line);
    let rest = rest.strip_prefix('[')?;
    let close = rest.find(']')?;
    let mut after = &rest[close + 1..];
    // An approvals count: `[Docs][2]`.
    if let Some(count) = after.strip_prefix('[')
        && let Some(end) = count.find(']')
        && count[..end].chars().all(|c| c.is_ascii_digit())
    {
        after = &count[end + 1..];
    }
    if !after.is_empty() && !after.starts_with(char::is_whitespace) {
        return None;
    }
    Some(after.split_whitespace().map(str::to_string).collect())
}

/// The pattern (with `\ ` escaped spaces) and the rest of the line.
fn split_pattern(line: &str) -> (String, &str) {
    let mut pattern = String::new();
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                if let Some(&(_, next)) = chars.peek() {
                    if next == ' ' || next == '#' {
                        pattern.push(next);
                    } else {
                        pattern.push('\\');
                        pattern.push(next);
                    }
                    chars.next();
                }
            }
            c if c.is_whitespace() => return (pattern, &line[i..]),
            c => pattern.push(c),
        }
    }
    (pattern, "")
}

/// A CODEOWNERS pattern as globs over repository paths.
fn matchers(pattern: &str) -> Option<Vec<GlobMatcher>> {
    let anchored = pattern.starts_with('/');
    let body = pattern.trim_start_matches('/');
    let dir_only = body.ends_with('/');
    let body = body.trim_end_matches('/');
    if body.is_empty() {
        // `/` or `*`-less root: everything.
        return glob("**").map(|g| vec![g]);
    }
    // A slash inside the pattern anchors it at the root, as in gitignore.
    let rooted = anchored || body.contains('/');
    let base = if rooted {
        body.to_string()
    } else {
        format!("**/{body}")
    };
    let mut globs = Vec::new();
    if dir_only {
        globs.push(format!("{base}/**"));
    } else {
        globs.push(base.clone());
        // A name can be a folder: everything under it, except for `docs/*`, which CODEOWNERS
        // keeps to the folder's own files.
        if !body.ends_with("/*") && body != "*" {
            globs.push(format!("{base}/**"));
        }
    }
    globs.iter().map(|g| glob(g)).collect()
}

fn glob(pattern: &str) -> Option<GlobMatcher> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .ok()
        .map(|g| g.compile_matcher())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_matching_pattern_wins() {
        let o = Owners::parse(
            "# comment\n*       @global\n*.js    @js-owner  # trailing comment\n/build/logs/ @doctocat\ndocs/*  docs@example.com\napps/   @octocat\n/apps/github\n",
        );
        assert_eq!(o.of("README.md"), ["@global"]);
        assert_eq!(o.of("src/app.js"), ["@js-owner"]);
        assert_eq!(o.of("build/logs/a/b.txt"), ["@doctocat"]);
        assert_eq!(o.of("x/build/logs/b.txt"), ["@global"]);
        assert_eq!(o.of("docs/getting-started.md"), ["docs@example.com"]);
        assert_eq!(o.of("docs/build-app/troubleshooting.md"), ["@global"]);
        assert_eq!(o.of("x/apps/y.py"), ["@octocat"]);
        // A pattern with no owners leaves what it matches unowned.
        assert!(o.of("apps/github/main.py").is_empty());
    }

    #[test]
    fn gitlab_sections_combine_and_default_owners_fill_in() {
        let o = Owners::parse(
            "*.py @all-python\n\n[Backend] @backend\nsrc/api/\nsrc/api/legacy/ @legacy\n\n^[Docs][2] @docs\n*.md\n",
        );
        assert_eq!(o.of("src/api/views.py"), ["@all-python", "@backend"]);
        assert_eq!(o.of("src/api/legacy/old.py"), ["@all-python", "@legacy"]);
        assert_eq!(o.of("src/api/README.md"), ["@backend", "@docs"]);
        assert!(o.of("setup.cfg").is_empty());
        let (owners, unowned) = o.of_files(&["src/api/views.py", "setup.cfg"]);
        assert_eq!(owners, ["@all-python", "@backend"]);
        assert_eq!(unowned, 1);
    }

    #[test]
    fn escapes_and_bad_lines() {
        let o = Owners::parse("my\\ file.txt @spaces\n\\#notes @hash\n[unclosed @x\n");
        assert_eq!(o.of("my file.txt"), ["@spaces"]);
        assert_eq!(o.of("#notes"), ["@hash"]);
        // `[unclosed` is not a section header; as a glob it is malformed.
        assert_eq!(o.skipped.len(), 1);
    }
}
