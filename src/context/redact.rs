//! What never leaves the machine: files that look like secrets are withheld whole, and
//! token-like strings are redacted from every text a prompt is built from.

use std::sync::OnceLock;

/// Files that must never be sent: environment files, keys, credentials.
pub fn is_secret_path(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    name.starts_with(".env")
        || name.ends_with(".pem")
        || name.ends_with(".key")
        || name.ends_with(".p12")
        || name.starts_with("id_rsa")
        || name.starts_with("id_ed25519")
        || name.starts_with("id_ecdsa")
        || name.starts_with("id_dsa")
        || name.contains("credentials")
        || name == ".netrc"
        || name == ".pgpass"
}

/// Replace token-like strings (API keys, private keys, passwords in URLs) with `[REDACTED]`.
pub fn redact(text: &str) -> String {
    static PATTERNS: OnceLock<Vec<regex::Regex>> = OnceLock::new();
    let patterns = PATTERNS.get_or_init(|| {
        [
            // Private keys, whole blocks.
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
            // Provider keys and tokens.
            r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_\-]{16,}",
            r"\bgh[pousr]_[A-Za-z0-9]{20,}",
            r"\bgithub_pat_[A-Za-z0-9_]{20,}",
            r"\bxox[abpr]-[A-Za-z0-9\-]{10,}",
            r"\bAKIA[0-9A-Z]{16}\b",
            r"\bAIza[0-9A-Za-z_\-]{35}",
            // user:password@ in URLs.
            r"(?i)\b[a-z][a-z0-9+.\-]*://[^\s/:@]+:[^\s/@]+@",
        ]
        .iter()
        .filter_map(|p| regex::Regex::new(p).ok())
        .collect()
    });
    let mut out = text.to_string();
    for (i, re) in patterns.iter().enumerate() {
        out = if i + 1 == patterns.len() {
            // Keep the scheme and host readable.
            re.replace_all(&out, |c: &regex::Captures<'_>| {
                let m = &c[0];
                let scheme_end = m.find("://").map(|p| p + 3).unwrap_or(0);
                format!("{}[REDACTED]@", &m[..scheme_end])
            })
            .into_owned()
        } else {
            re.replace_all(&out, "[REDACTED]").into_owned()
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_withheld_and_redacted() {
        assert!(is_secret_path(".env.local"));
        assert!(is_secret_path("deploy/id_rsa"));
        assert!(is_secret_path("certs/server.pem"));
        assert!(is_secret_path("aws/credentials"));
        assert!(!is_secret_path("src/environment.py"));
        let text = "key = \"sk-proj-abcdefghijklmnop1234\"\nurl = \"postgres://admin:hunter2@db:5432/x\"\ntoken = \"ghp_abcdefghijklmnopqrstuvwxyz012345\"\n";
        let out = redact(text);
        assert!(!out.contains("sk-proj-abcdef"), "{out}");
        assert!(!out.contains("hunter2"), "{out}");
        assert!(!out.contains("ghp_abc"), "{out}");
        assert!(out.contains("postgres://[REDACTED]@db:5432/x"), "{out}");
    }
}
