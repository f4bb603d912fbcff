//! Trust boundaries, as a security reviewer would test them: hostile model answers served by a
//! loopback model are refused whole (nothing written, nothing committed) and their benign
//! counterparts apply; secrets seeded into a repository never reach a request, the transcript
//! or the state; malformed answers get format repairs, a bounded number of times; verifying a
//! model batch runs without the environment's credentials, and without network when asked.

use std::path::Path;

use crate::common::{
    FakeModel, Ripple, assert_ok, chat_answer, commit_all, commits_between, fixture_repo, git,
    prompt_file_texts, prompt_of,
};

/// A model step over two small files of the shop fixture.
const RECIPE: &str = r#"name = "touch-db"
[[step]]
kind = "model"
instructions = "Tidy the comments of these files."
select = { paths = ["src/shopcore/db/cache.py", "src/shopcore/db/__init__.py"] }
[batch]
max_files = 2
[verify]
commands = ["python -m pytest -q -p no:cacheprovider"]
"#;

/// The shop with `recipe` committed as `recipe.toml`.
fn repo_with(recipe: &str) -> tempfile::TempDir {
    let repo = fixture_repo("python/shop");
    std::fs::write(repo.path().join("recipe.toml"), recipe).expect("recipe");
    commit_all(repo.path(), "recipe");
    repo
}

/// How a scripted model answers: from the prompt and the request's number.
type Script = fn(&str, usize) -> String;

/// A model that answers every request with `answer(prompt, n)`.
fn fake_model(answer: Script) -> (FakeModel, String) {
    let model = FakeModel::start(Box::new(move |r, n| {
        (200, Vec::new(), chat_answer(&answer(&prompt_of(r), n)))
    }));
    let spec = format!("openai-compatible:fake@{}/v1", model.url);
    (model, spec)
}

fn run(dir: &Path, spec: &str, env: &[(&str, &str)]) -> std::process::Output {
    Ripple::new(dir)
        .envs(env)
        .args(&["run", "recipe.toml", "--model", spec, "--format", "json"])
        .output()
}

/// A block that puts `new` in place of the first line of `src/shopcore/db/cache.py`.
fn first_line_block(prompt: &str, new: &str) -> String {
    let files = prompt_file_texts(prompt);
    let (path, text) = files
        .iter()
        .find(|(p, _)| p.ends_with("cache.py"))
        .expect("cache.py in the prompt");
    let first = text.lines().next().unwrap_or("");
    format!("{path}\n<<<<<<< SEARCH\n{first}\n=======\n{new}\n{first}\n>>>>>>> REPLACE\n")
}

fn assert_refused_whole(dir: &Path, out: &std::process::Output, why: &str) {
    assert_eq!(
        out.status.code(),
        Some(3),
        "{why}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        git(dir, &["status", "--porcelain"]),
        "",
        "{why}: nothing written"
    );
    assert_eq!(
        commits_between(dir, "main", "ripple/touch-db").len(),
        0,
        "{why}: nothing committed"
    );
}

#[test]
fn hostile_answers_are_refused_whole() {
    let cases: &[(&str, Script)] = &[
        ("bidi override", |p, _| {
            first_line_block(
                p,
                "# access = \"user\u{202E} \u{2066}// admin\u{2069} \u{2066}\"",
            )
        }),
        ("zero-width space", |p, _| {
            first_line_block(p, "# cache\u{200B} helpers")
        }),
        ("byte-order mark mid-file", |p, _| {
            first_line_block(p, "# cache helpers\n\u{FEFF}# more")
        }),
        ("terminal escape", |p, _| {
            first_line_block(p, "# \u{1b}[2J\u{1b}[31mcache helpers\u{1b}[0m")
        }),
        ("emptied file", |p, _| {
            let files = prompt_file_texts(p);
            let (path, text) = files
                .iter()
                .find(|(p, _)| p.ends_with("cache.py"))
                .expect("cache.py");
            format!("{path}\n<<<<<<< SEARCH\n{text}=======\n>>>>>>> REPLACE\n")
        }),
        ("block without a path line", |p, _| {
            let block = first_line_block(p, "# tidy");
            let (_, rest) = block.split_once('\n').expect("path line");
            format!("{block}{rest}")
        }),
        ("stray marker", |p, _| {
            format!("{}>>>>>>> REPLACE\n", first_line_block(p, "# tidy"))
        }),
    ];
    for (why, answer) in cases {
        let repo = repo_with(RECIPE);
        let (model, spec) = fake_model(*answer);
        let out = run(repo.path(), &spec, &[]);
        assert_refused_whole(repo.path(), &out, why);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report");
        let error = report["batches"][0]["error"].as_str().unwrap_or("");
        assert!(error.contains("refused"), "{why}: {error}");
        // Form errors go back to the model (twice by default); safety refusals never do.
        let form = why.contains("path line") || why.contains("stray");
        assert_eq!(
            model.requests().len(),
            if form { 3 } else { 1 },
            "{why}: {error}"
        );
    }
}

#[test]
fn benign_answers_with_unusual_characters_apply() {
    let recipe = RECIPE
        .replace(
            "\"src/shopcore/db/__init__.py\"",
            "\"src/shopcore/db/__init__.py\", \"src/shopcore/db/bom.py\"",
        )
        .replace("max_files = 2", "max_files = 3");
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    std::fs::write(dir.join("recipe.toml"), recipe).expect("recipe");
    std::fs::write(
        dir.join("src/shopcore/db/bom.py"),
        "\u{FEFF}\"\"\"A module saved with a byte-order mark.\"\"\"\nVALUE = 1\n",
    )
    .expect("bom file");
    commit_all(dir, "recipe and a BOM file");
    let (_model, spec) = fake_model(|p, _| {
        let mut out =
            String::from("Note: I kept the \u{202E}bidi\u{202C} characters out of the code.\n\n");
        let files = prompt_file_texts(p);
        if files.iter().any(|(p, _)| p.ends_with("cache.py")) {
            out.push_str(&first_line_block(
                p,
                "# Caché de pedidos: naïve, 日本語, 🎉",
            ));
        }
        if let Some((path, text)) = files.iter().find(|(p, _)| p.ends_with("bom.py")) {
            let first = text.lines().next().unwrap_or("");
            out.push_str(&format!(
                "{path}\n<<<<<<< SEARCH\n{first}\n=======\n{first}\n# still starts with its mark\n>>>>>>> REPLACE\n"
            ));
        }
        out
    });
    let out = run(dir, &spec, &[]);
    assert_ok(&out);
    let cache = std::fs::read_to_string(dir.join("src/shopcore/db/cache.py")).expect("read");
    assert!(
        cache.starts_with("# Caché de pedidos: naïve, 日本語, 🎉\n"),
        "{cache}"
    );
    let bom = std::fs::read_to_string(dir.join("src/shopcore/db/bom.py")).expect("read");
    assert!(bom.starts_with('\u{FEFF}') && bom.contains("# still starts with its mark"));
}

/// Fake credentials in realistic shapes, made from pieces at run time so that no secret
/// scanner flags this file: (family, value).
fn fake_secrets() -> Vec<(&'static str, String)> {
    let alnum = "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9T0u1V2w3X4y5Z6";
    let take = |n: usize| alnum.chars().cycle().take(n).collect::<String>();
    let upper = |n: usize| {
        "A7K2Q9Z4M8X3B6N1"
            .chars()
            .cycle()
            .take(n)
            .collect::<String>()
    };
    vec![
        ("aws key id", ["AK", "IA", &upper(16)].concat()),
        ("aws secret key", take(40).replace('a', "/")),
        ("gcp api key", ["AI", "za", &take(35)].concat()),
        ("azure account key", format!("{}==", take(86))),
        ("github classic", ["gh", "p_", &take(36)].concat()),
        (
            "github fine-grained",
            ["github", "_pat_", &take(82)].concat(),
        ),
        ("gitlab", ["gl", "pat-", &take(20)].concat()),
        (
            "slack bot",
            ["xo", "xb-", "1234567890-", &take(24)].concat(),
        ),
        (
            "slack webhook",
            [
                "https://hooks.",
                "slack.com/services/T0",
                &upper(8),
                "/B0",
                &upper(8),
                "/",
                &take(24),
            ]
            .concat(),
        ),
        (
            "discord webhook",
            [
                "https://discord",
                ".com/api/webhooks/",
                "123456789012345678/",
                &take(68),
            ]
            .concat(),
        ),
        ("telegram", ["123456789", ":AA", &take(33)].concat()),
        ("stripe live", ["sk", "_live_", &take(24)].concat()),
        ("square", ["sq0", "atp-", &take(22)].concat()),
        ("sendgrid", ["SG", ".", &take(22), ".", &take(43)].concat()),
        ("mailgun", ["ke", "y-", &take(32)].concat()),
        ("npm", ["np", "m_", &take(36)].concat()),
        ("pypi", ["py", "pi-AgEIcHlwaS5vcmc", &take(60)].concat()),
        ("openai", ["sk", "-proj-", &take(40)].concat()),
        ("anthropic", ["sk", "-ant-api03-", &take(40)].concat()),
        ("huggingface", ["h", "f_", &take(34)].concat()),
        (
            "jwt",
            [
                "ey",
                "JhbGciOiJIUzI1NiJ9.",
                "ey",
                "JzdWIiOiIxMjM0NTY3ODkwIn0.",
                &take(43),
            ]
            .concat(),
        ),
        ("db password", "S3cr3t-Pa55w0rd-9x".to_string()),
        ("assigned password", "Zq8!vR2#kL9$wT4%".to_string()),
    ]
}

#[test]
fn seeded_secrets_never_leave_and_survive_an_edit() {
    let secrets = fake_secrets();
    assert!(secrets.len() >= 20);
    let value = |family: &str| {
        secrets
            .iter()
            .find(|(f, _)| *f == family)
            .map(|(_, v)| v.clone())
            .expect("family")
    };
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    // A settings module, comments, docstrings, defaults and a test, all carrying secrets.
    let mut settings = String::from("\"\"\"Settings.\n\nThe old key was ");
    settings.push_str(&value("openai"));
    settings.push_str(" (revoked).\n\"\"\"\n\n");
    for (i, (family, v)) in secrets.iter().enumerate() {
        match *family {
            "db password" => settings.push_str(&format!(
                "DATABASE = \"postgres://shop:{v}@db.internal:5432/shop\"\n"
            )),
            "assigned password" => settings.push_str(&format!("admin_password = \"{v}\"\n")),
            "aws secret key" => settings.push_str(&format!("aws_secret_access_key = \"{v}\"\n")),
            "azure account key" => settings.push_str(&format!(
                "AZURE = \"DefaultEndpointsProtocol=https;AccountName=shop;AccountKey={v};EndpointSuffix=core.windows.net\"\n"
            )),
            _ => settings.push_str(&format!("# {family}\nKEY_{i} = \"{v}\"\n")),
        }
    }
    settings.push_str(&format!(
        "\n\ndef connect(token: str = \"{}\") -> str:\n    return token\n",
        value("github classic")
    ));
    std::fs::write(dir.join("src/shopcore/settings.py"), &settings).expect("settings");
    std::fs::write(
        dir.join("tests/test_settings.py"),
        format!(
            "from shopcore import settings\n\n\ndef test_key():\n    # {}\n    assert settings.connect()\n",
            value("stripe live")
        ),
    )
    .expect("test");
    std::fs::write(
        dir.join("recipe.toml"),
        r#"name = "settings"
[[step]]
kind = "model"
instructions = "Document the settings module."
select = { paths = ["src/shopcore/settings.py", "tests/test_settings.py"] }
[verify]
commands = ["python -m pytest -q -p no:cacheprovider tests/test_settings.py"]
"#,
    )
    .expect("recipe");
    commit_all(dir, "settings with secrets");
    // The model edits a line holding a placeholder, keeping it.
    let (model, spec) = fake_model(|p, _| {
        let files = prompt_file_texts(p);
        let Some((path, text)) = files
            .iter()
            .find(|(p, _)| p.ends_with("settings.py") && !p.contains("test_"))
        else {
            // The test's batch: a comment on its first line.
            let (path, text) = &files[0];
            let first = text.lines().next().unwrap_or("");
            return format!(
                "{path}\n<<<<<<< SEARCH\n{first}\n=======\n# Tests of the settings.\n{first}\n>>>>>>> REPLACE\n"
            );
        };
        let line = text
            .lines()
            .find(|l| l.starts_with("def connect("))
            .expect("connect");
        assert!(line.contains("[REDACTED-"), "{line}");
        format!(
            "{path}\n<<<<<<< SEARCH\n{line}\n=======\n# The default token is the service's.\n{line}\n>>>>>>> REPLACE\n"
        )
    });
    let out = run(dir, &spec, &[]);
    assert_ok(&out);
    let after = std::fs::read_to_string(dir.join("src/shopcore/settings.py")).expect("read");
    assert!(
        after.contains(&format!(
            "# The default token is the service's.\ndef connect(token: str = \"{}\") -> str:",
            value("github classic")
        )),
        "the edit applied and kept the secret:\n{after}"
    );
    // Nowhere a value went: the requests, the transcript, the state, the output.
    let sent: String = model.requests().iter().map(|r| r.body.clone()).collect();
    let mut kept = String::new();
    for entry in walk(&dir.join(".git/ripple")) {
        if entry
            .extension()
            .is_some_and(|e| e == "jsonl" || e == "json")
        {
            kept.push_str(&std::fs::read_to_string(&entry).expect("transcript"));
        }
    }
    assert!(!kept.is_empty(), "a transcript was written");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for (family, v) in &secrets {
        assert!(!sent.contains(v.as_str()), "{family} was sent to the model");
        assert!(!kept.contains(v.as_str()), "{family} is in the transcript");
        assert!(!printed.contains(v.as_str()), "{family} was printed");
    }
    assert!(
        sent.contains("[REDACTED-"),
        "placeholders were sent instead"
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

#[test]
fn malformed_answers_get_format_repairs_then_stop() {
    // Bad once, then good: a verified commit, the repair counted.
    let repo = repo_with(RECIPE);
    let (model, spec) = fake_model(|p, n| {
        if n == 0 {
            "Here is my change:\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n".to_string()
        } else {
            assert!(
                p.contains("## Your previous answer could not be applied"),
                "the reason goes back"
            );
            assert!(p.contains("has no file path on the line above"), "{p}");
            first_line_block(p, "# tidied")
        }
    });
    let out = run(repo.path(), &spec, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report");
    assert_eq!(report["batches"][0]["format_repairs"], 1);
    assert_eq!(model.requests().len(), 2);
    assert_eq!(
        commits_between(repo.path(), "main", "ripple/touch-db").len(),
        1
    );

    // A SEARCH that matches nothing, every time: the closest lines go back, then it stops.
    let repo = repo_with(&RECIPE.replace("[batch]", "format_repairs = 1\n[batch]"));
    let (model, spec) = fake_model(|p, n| {
        if n > 0 {
            assert!(p.contains("the closest lines are"), "{p}");
        }
        let files = prompt_file_texts(p);
        let (path, text) = files
            .iter()
            .find(|(p, _)| p.ends_with("cache.py"))
            .expect("cache.py");
        let first = text.lines().next().unwrap_or("");
        format!(
            "{path}\n<<<<<<< SEARCH\n{}\n=======\n# x\n>>>>>>> REPLACE\n",
            first.replacen(' ', "  ", 1)
        )
    });
    let out = run(repo.path(), &spec, &[]);
    assert_refused_whole(repo.path(), &out, "never matches");
    assert_eq!(model.requests().len(), 2, "one format repair, then stop");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report");
    assert_eq!(report["batches"][0]["format_repairs"], 1);
}

#[test]
fn verifying_model_code_strips_credentials() {
    let recipe = RECIPE.replace(
        "commands = [\"python -m pytest -q -p no:cacheprovider\"]",
        "commands = [\"env | sort > .verify-env\"]\nenv = [\"KEEP_ME_TOKEN\"]",
    );
    let repo = fixture_repo("python/shop");
    let dir = repo.path();
    std::fs::write(dir.join("recipe.toml"), recipe).expect("recipe");
    std::fs::write(dir.join(".gitignore"), "__pycache__/\n.verify-env\n").expect("ignore");
    commit_all(dir, "recipe");
    let (_model, spec) = fake_model(|p, _| first_line_block(p, "# tidied"));
    let out = run(
        dir,
        &spec,
        &[
            ("RIPPLE_API_KEY", "model-key-1234567890"),
            ("SERVICE_TOKEN", "tok-1234567890"),
            ("AWS_SECRET_ACCESS_KEY", "aws-1234567890"),
            ("DB_PASSWORD", "pw-1234567890"),
            ("KEEP_ME_TOKEN", "kept-1234567890"),
            ("PLAIN_SETTING", "plain"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let env = std::fs::read_to_string(dir.join(".verify-env")).expect("the verify env");
    for stripped in [
        "RIPPLE_API_KEY",
        "SERVICE_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "DB_PASSWORD",
    ] {
        assert!(
            !env.lines().any(|l| l.starts_with(&format!("{stripped}="))),
            "{stripped} reached the verify command"
        );
    }
    assert!(
        env.contains("KEEP_ME_TOKEN=kept-1234567890"),
        "the allow-list"
    );
    assert!(env.contains("PLAIN_SETTING=plain"));
    assert!(env.contains("AWS_SHARED_CREDENTIALS_FILE=/dev/null"));
}

#[test]
fn verify_without_network_cannot_reach_a_server() {
    let isolation = std::process::Command::new("unshare")
        .args(["--net", "--map-root-user", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !isolation {
        eprintln!(
            "skipped: network namespaces (unshare --net --map-root-user) are not available here"
        );
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || for _ in listener.incoming() {});
    let connect = format!(
        "python3 -c \\\"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2)\\\""
    );
    for (network, ok) in [("true", true), ("false", false)] {
        let recipe = RECIPE.replace(
            "commands = [\"python -m pytest -q -p no:cacheprovider\"]",
            &format!("commands = [\"{connect}\"]\nnetwork = {network}"),
        );
        let repo = repo_with(&recipe);
        let (_model, spec) = fake_model(|p, _| first_line_block(p, "# tidied"));
        let out = run(repo.path(), &spec, &[]);
        assert_eq!(
            out.status.success(),
            ok,
            "network = {network}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn the_fixtures_hold_nothing_redaction_takes_for_a_secret() {
    // Git object ids, UUIDs, go.sum hashes, test vectors: none of it is a secret.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut found = Vec::new();
    let mut files = 0;
    for path in walk(&root) {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        files += 1;
        let mut redactor = git_ripple::context::Redactor::new();
        redactor.redact(&text);
        for (placeholder, value) in redactor.secrets() {
            found.push(format!("{}: {placeholder} = {value}", path.display()));
        }
    }
    assert!(files > 50, "{files} fixture files");
    assert!(found.is_empty(), "false positives:\n{}", found.join("\n"));
}

#[test]
fn reports_never_print_a_secret_a_verify_command_printed() {
    let fake = ["gh", "p_", "Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp9Oo8Nn"].concat();
    let recipe = |extra: &str, command: &str| {
        format!(
            "name = \"leaky\"\n[[step]]\nkind = \"rename\"\nsymbol = \"shopcore.db.queries.fetch_order\"\nto = \"load_order\"\n{extra}\n[verify]\ncommands = [{command:?}]\n"
        )
    };
    // Red once a batch writes the new name (a batch's failure), then red from the start (the
    // baseline's): the report hides the secret either way.
    for (extra, command) in [
        (
            "compat = \"none\"",
            "! grep -rq load_order src || { echo \"the service answered with $LEAKY\"; exit 1; }",
        ),
        ("", "echo \"the service answered with $LEAKY\"; exit 1"),
    ] {
        let repo = repo_with(&recipe(extra, command));
        for format in ["json", "text"] {
            let out = Ripple::new(repo.path())
                .env("LEAKY", &fake)
                .args(&["run", "recipe.toml", "--format", format])
                .output();
            assert_eq!(out.status.code(), Some(1));
            let printed = String::from_utf8_lossy(&out.stdout);
            assert!(!printed.contains(&fake), "{format}: {printed}");
            assert!(
                printed.contains("[REDACTED-github-token-1]"),
                "{format}: {printed}"
            );
            // The batch's run is given up for the next round; a red baseline started none.
            let abort = Ripple::new(repo.path())
                .args(&["abort", "--delete-branch"])
                .output();
            assert_eq!(abort.status.success(), !extra.is_empty(), "{abort:?}");
        }
    }
}
