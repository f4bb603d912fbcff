//! What never leaves the machine: files that look like secrets are withheld whole, and secret
//! values are replaced in every text a prompt is built from by stable placeholders
//! (`[REDACTED-github-token-1]`: the same value gets the same placeholder throughout one
//! request), which the edit stage maps back when it applies an answer (see
//! `edit::protocol`). So redaction never breaks an edit, and a value never leaves the machine.
//!
//! The rules follow the families the common secret scanners (gitleaks, detect-secrets,
//! trufflehog) cover: cloud providers, version control, chat and webhooks, payments, mail,
//! package registries, LLM providers, private keys, JWTs, URLs with passwords, and
//! high-entropy values assigned to secret-like names. They are written to match the shape of a
//! credential, not anything long and random: git object ids, UUIDs, lock-file hashes and
//! base64 test vectors are left alone (the tests measure it).

use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;

/// Files that must never be sent: environment files, keys, credentials.
pub fn is_secret_path(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    name.starts_with(".env")
        || name.ends_with(".pem")
        || name.ends_with(".key")
        || name.ends_with(".p12")
        || name.ends_with(".pfx")
        || name.ends_with(".jks")
        || name.ends_with(".keystore")
        || name.starts_with("id_rsa")
        || name.starts_with("id_ed25519")
        || name.starts_with("id_ecdsa")
        || name.starts_with("id_dsa")
        || name.contains("credentials")
        || name == ".netrc"
        || name == ".pgpass"
        || name == ".npmrc"
        || name == ".pypirc"
        || name == ".git-credentials"
        || name.ends_with(".tfvars")
        || name.ends_with(".ppk")
        || name.ends_with(".kdbx")
        || name.starts_with("service-account") && name.ends_with(".json")
}

/// One rule: the family it reports, the pattern, and which group holds the secret (0: the
/// whole match).
struct Rule {
    family: &'static str,
    re: Regex,
    group: usize,
    /// Only values this random are secrets (bits per character); 0: any.
    min_entropy: f64,
}

/// (family, pattern, group, minimum entropy).
const RULES: &[(&str, &str, usize, f64)] = &[
    // Private keys, whole blocks: PEM (RSA, EC, PKCS#8, encrypted), OpenSSH, PGP.
    (
        "private-key",
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----",
        0,
        0.0,
    ),
    // Cloud: AWS access key ids and secret keys, GCP API keys, Azure storage keys and SAS.
    (
        "aws-key-id",
        r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b",
        0,
        0.0,
    ),
    (
        "aws-secret-key",
        r#"(?i)aws_?secret(?:_?access)?_?key["']?\s*[:=]+\s*["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"#,
        1,
        0.0,
    ),
    ("gcp-api-key", r"\bAIza[0-9A-Za-z_\-]{35}\b", 0, 0.0),
    (
        "azure-key",
        r"(?i)\b(?:AccountKey|SharedAccessKey)=([A-Za-z0-9+/]{40,}={0,2})",
        1,
        0.0,
    ),
    (
        "azure-sas",
        r"[?&]sig=([A-Za-z0-9%+/]{30,}(?:%3D|=){0,2})",
        1,
        0.0,
    ),
    // Version control.
    ("github-token", r"\bgh[pousr]_[A-Za-z0-9]{36,}\b", 0, 0.0),
    ("github-token", r"\bgithub_pat_[A-Za-z0-9_]{22,}\b", 0, 0.0),
    (
        "gitlab-token",
        r"\bgl(?:pat|dt|rt|ptt|cbt)-[A-Za-z0-9_\-]{20,}\b",
        0,
        0.0,
    ),
    ("bitbucket-token", r"\bATBB[A-Za-z0-9_=.\-]{28,}\b", 0, 0.0),
    // Chat and webhooks.
    ("slack-token", r"\bxox[abposr]-[A-Za-z0-9\-]{10,}\b", 0, 0.0),
    (
        "slack-webhook",
        r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_\-]+",
        0,
        0.0,
    ),
    (
        "discord-webhook",
        r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[0-9]+/[A-Za-z0-9_\-]+",
        0,
        0.0,
    ),
    (
        "discord-token",
        r"\b[MN][A-Za-z0-9]{23,25}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,}\b",
        0,
        0.0,
    ),
    (
        "telegram-token",
        r"\b[0-9]{8,10}:AA[A-Za-z0-9_\-]{33}\b",
        0,
        0.0,
    ),
    // Payments.
    (
        "stripe-key",
        r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}\b",
        0,
        0.0,
    ),
    (
        "square-token",
        r"\bsq0(?:atp|csp)-[0-9A-Za-z_\-]{22,}\b",
        0,
        0.0,
    ),
    ("square-token", r"\bEAAA[A-Za-z0-9_\-+=]{60}\b", 0, 0.0),
    (
        "paypal-token",
        r"\baccess_token\$(?:production|sandbox)\$[0-9a-z]{16}\$[0-9a-f]{32}\b",
        0,
        0.0,
    ),
    // Mail.
    (
        "sendgrid-key",
        r"\bSG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}\b",
        0,
        0.0,
    ),
    ("mailgun-key", r"\bkey-[0-9a-zA-Z]{32}\b", 0, 0.0),
    // Package registries.
    ("npm-token", r"\bnpm_[A-Za-z0-9]{36}\b", 0, 0.0),
    (
        "pypi-token",
        r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,}",
        0,
        0.0,
    ),
    // LLM providers.
    ("anthropic-key", r"\bsk-ant-[A-Za-z0-9_\-]{20,}", 0, 0.0),
    (
        "openai-key",
        r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}",
        0,
        0.0,
    ),
    ("huggingface-token", r"\bhf_[A-Za-z0-9]{30,}\b", 0, 0.0),
    ("groq-key", r"\bgsk_[A-Za-z0-9]{40,}\b", 0, 0.0),
    // JSON Web Tokens.
    (
        "jwt",
        r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
        0,
        0.0,
    ),
    // user:password@ in database, broker and other URLs: the password only.
    (
        "url-password",
        r"(?i)\b[a-z][a-z0-9+.\-]*://[^\s/:@]+:([^\s/@]+)@",
        1,
        0.0,
    ),
    // Values assigned to secret-like names, quoted and random enough to be a credential.
    (
        "secret",
        r#"(?i)\b([a-z0-9_]*(?:password|passwd|passphrase|pwd|secret|token|api_?key|apikey|access_?key|account_?key|private_?key|auth_?key|credential)[a-z0-9_]*)["'`]?\s*(?::=|=>|[:=])\s*[rbuRBU]{0,2}["'`]([^"'`\s]{8,})["'`]"#,
        2,
        3.0,
    ),
    // Any other `*_key` name holds a key only when the value is long and random.
    (
        "secret",
        r#"(?i)\b([a-z0-9]+_key)["'`]?\s*(?::=|=>|[:=])\s*[rbuRBU]{0,2}["'`]([^"'`\s]{16,})["'`]"#,
        2,
        3.5,
    ),
    // The same, unquoted, at the end of a line: YAML, INI, .properties, shell assignments.
    (
        "secret",
        r#"(?im)^[ \t]*(?:export[ \t]+)?([a-z0-9_.\-]*(?:password|passwd|passphrase|pwd|secret|token|api_?key|apikey|access_?key|account_?key|private_?key|auth_?key|credential)[a-z0-9_.\-]*)[ \t]*[:=][ \t]*([^\s"'`]{8,})[ \t]*$"#,
        2,
        3.0,
    ),
];

fn rules() -> &'static [Rule] {
    static RULES_COMPILED: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES_COMPILED.get_or_init(|| {
        RULES
            .iter()
            .filter_map(|&(family, pattern, group, min_entropy)| {
                Some(Rule {
                    family,
                    re: Regex::new(pattern).ok()?,
                    group,
                    min_entropy,
                })
            })
            .collect()
    })
}

/// Shannon entropy of a string, in bits per character.
fn entropy(s: &str) -> f64 {
    let mut counts: HashMap<char, usize> = HashMap::new();
    for c in s.chars() {
        *counts.entry(c).or_default() += 1;
    }
    let n = s.chars().count() as f64;
    counts
        .values()
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// Whether a value assigned to a secret-like name is a stand-in rather than a secret:
/// interpolations, environment lookups, obvious placeholders, words (`same-origin`,
/// `newpassword`): a credential mixes kinds of characters and does not name itself.
fn is_stand_in(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    let classes = [
        value.chars().any(|c| c.is_ascii_lowercase()),
        value.chars().any(|c| c.is_ascii_uppercase()),
        value.chars().any(|c| c.is_ascii_digit()),
        value.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    let symbols_only_separators = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    let kinds =
        classes.iter().filter(|k| **k).count() - usize::from(classes[3] && symbols_only_separators);
    kinds < 2
        || ["password", "passwd", "secret", "token"]
            .iter()
            .any(|w| lower.contains(w))
        || value.contains("://")
        || value.starts_with('%')
        || value.contains('\\')
        || value.contains('|')
        || value.chars().take(4).all(|c| c.is_ascii_digit()) && value.get(4..5) == Some("-")
        || value.contains("${")
        || value.contains("{{")
        || value.contains("%(")
        || value.starts_with('<')
        || value.starts_with('$')
        || value.starts_with("[REDACTED")
        || [
            "changeme",
            "example",
            "xxxxxxxx",
            "placeholder",
            "your_",
            "dummy",
        ]
        .iter()
        .any(|w| lower.contains(w))
}

/// Whether a secret-like name is about a secret rather than one: `token_url`, `password_field`,
/// `tokenID`, `password_expires_at`.
fn names_no_secret(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [
        "url", "uri", "path", "file", "name", "type", "field", "id", "_at", "length", "count",
        "header", "prefix", "env", "var",
    ]
    .iter()
    .any(|s| lower.ends_with(s))
}

/// Replaces secret values by placeholders, remembering which is which.
#[derive(Debug, Default, Clone)]
pub struct Redactor {
    /// (placeholder, value), in the order found.
    found: Vec<(String, String)>,
    by_value: HashMap<String, usize>,
}

impl Redactor {
    /// A redactor that has seen nothing yet.
    pub fn new() -> Redactor {
        Redactor::default()
    }

    /// `text` with every secret value replaced by its placeholder.
    pub fn redact(&mut self, text: &str) -> String {
        let spans = secret_spans(text);
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for (start, end, family) in spans {
            if start < last {
                continue;
            }
            out.push_str(&text[last..start]);
            out.push_str(&self.placeholder(family, &text[start..end]));
            last = end;
        }
        out.push_str(&text[last..]);
        // Values found earlier, wherever they show up again in a form no rule knows (a test
        // that prints the password it was given), longest first.
        let mut known: Vec<&(String, String)> = self.found.iter().collect();
        known.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
        for (placeholder, value) in known {
            if value.len() >= 6 && out.contains(value.as_str()) {
                out = out.replace(value.as_str(), placeholder);
            }
        }
        out
    }

    fn placeholder(&mut self, family: &str, value: &str) -> String {
        if let Some(&i) = self.by_value.get(value) {
            return self.found[i].0.clone();
        }
        let placeholder = format!("[REDACTED-{family}-{}]", self.found.len() + 1);
        self.by_value.insert(value.to_string(), self.found.len());
        self.found.push((placeholder.clone(), value.to_string()));
        placeholder
    }

    /// (placeholder, value) of every secret redacted so far.
    pub fn secrets(&self) -> &[(String, String)] {
        &self.found
    }
}

/// Every match of every rule in `text`, as (start, end, family), sorted so that the earliest
/// (then longest) match comes first where two overlap.
fn secret_spans(text: &str) -> Vec<(usize, usize, &'static str)> {
    // Every match of every rule, as (start, end, family); the earliest (then longest)
    // match wins where two overlap.
    let mut spans: Vec<(usize, usize, &'static str)> = Vec::new();
    for rule in rules() {
        for caps in rule.re.captures_iter(text) {
            let Some(m) = caps.get(rule.group) else {
                continue;
            };
            if rule.min_entropy > 0.0
                && (entropy(m.as_str()) < rule.min_entropy
                    || is_stand_in(m.as_str())
                    || caps
                        .get(1)
                        .is_some_and(|name| names_no_secret(name.as_str())))
            {
                continue;
            }
            spans.push((m.start(), m.end(), rule.family));
        }
    }
    spans.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    spans
}

/// The byte ranges of `text` a rule takes for a secret: a view of part of a file never cuts
/// through one (half a key would get past the rules).
pub fn secret_ranges(text: &str) -> Vec<std::ops::Range<usize>> {
    secret_spans(text)
        .into_iter()
        .map(|(a, b, _)| a..b)
        .collect()
}

/// `text` with every secret value replaced by a placeholder (for texts nothing maps back:
/// verify output in a report, a log line).
pub fn redact(text: &str) -> String {
    Redactor::new().redact(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_files_are_withheld() {
        assert!(is_secret_path(".env.local"));
        assert!(is_secret_path("deploy/id_rsa"));
        assert!(is_secret_path("certs/server.pem"));
        assert!(is_secret_path("aws/credentials"));
        assert!(!is_secret_path("src/environment.py"));
    }

    #[test]
    fn the_same_value_gets_the_same_placeholder() {
        let key = ["sk-proj-", "abcdefghijklmnop1234"].concat();
        let mut r = Redactor::new();
        let a = r.redact(&format!("KEY = \"{key}\"\n"));
        let b = r.redact(&format!(
            "# {key}\nurl = \"postgres://admin:hunter2@db:5432/x\"\n"
        ));
        assert_eq!(a, "KEY = \"[REDACTED-openai-key-1]\"\n");
        assert_eq!(
            b,
            "# [REDACTED-openai-key-1]\nurl = \"postgres://admin:[REDACTED-url-password-2]@db:5432/x\"\n"
        );
        assert_eq!(r.secrets().len(), 2);
        assert_eq!(r.secrets()[1].1, "hunter2");
    }

    #[test]
    fn unquoted_and_backquoted_values_and_values_seen_before() {
        let mut r = Redactor::new();
        let yaml = r.redact("db:\n  password: Xk9#mQ2vL8pZ\n");
        assert_eq!(yaml, "db:\n  password: [REDACTED-secret-1]\n");
        let go = r.redact("const apiKey = `Qw3rTy9UiOp2AsDf`\n");
        assert_eq!(go, "const apiKey = `[REDACTED-secret-2]`\n");
        // A test printing the password it was given, in a form no rule matches.
        let output = r.redact("AssertionError: 'Xk9#mQ2vL8pZ' != 'wrong'\n");
        assert_eq!(output, "AssertionError: '[REDACTED-secret-1]' != 'wrong'\n");
        let aws = [
            "aws_secret_access_key = ",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzzzzzzz+/",
        ]
        .concat();
        assert!(!redact(&aws).contains("bPxRfiCY"), "{}", redact(&aws));
    }

    #[test]
    fn ids_hashes_and_test_vectors_are_not_secrets() {
        let benign = [
            "commit = \"3f2a9c1e8b7d6f5a4c3b2a1908f7e6d5c4b3a291\"",
            "id = \"123e4567-e89b-12d3-a456-426614174000\"",
            "\"integrity\": \"sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==\"",
            "hashes = [\"sha256:4dc82ea1e4dd9e0c1c2b0f7b1a8e5f2b7d3f6a9c8e1b4d7a0c3f6e9b2d5a8c1f\"]",
            "VECTOR = base64.b64decode(\"SGVsbG8sIFdvcmxkIQ==\")",
            "password = os.environ[\"DB_PASSWORD\"]",
            "token = \"${GITHUB_TOKEN}\"",
            "PASSWORD_FIELD = \"password\"",
            "def check_token(token: str) -> bool:",
            "credentials: 'same-origin',",
            "reset_url_token=\"set-passwordcustom\"",
            "\"password1\": \"newpassword\",",
            "sort_key = \"user:123\"",
            "password: ${DB_PASSWORD}",
            "token_type: bearer_token_kind",
            "token_url: \"http://remote1/auth\"",
            "const tokenID = \"3c9a75a2-24fd-4508-b4f2-11f18aa97411\"",
            "\"password_expires_at\": \"2016-11-06T15:32:17.000000\"",
        ];
        for line in benign {
            assert_eq!(redact(line), line, "{line}");
        }
    }
}
