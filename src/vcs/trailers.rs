//! Commit trailers: the `Ripple-*` lines that make each batch's commit say what it is, written
//! and parsed only here. `git log --format='%(trailers)'` and the commit-graph tools read them
//! as git trailers; `resume`, `run --batch K` and `log` read them back.
//!
//! ```text
//! Ripple-Recipe: rename-fetch-order
//! Ripple-Step: 1/1 rename
//! Ripple-Batch: 3/5
//! Ripple-Verified: python -m pytest -q (22 passed in 0.31s)
//! Ripple-Model: openai:gpt-5.2-codex        (model batches)
//! Ripple-Tokens: 1200 in, 300 out           (model batches; `1200 in (800 cached, 200 cache
//!                                            writes), 300 out` with a prompt cache)
//! ```

/// What a batch's commit records about itself.
#[derive(Debug, Clone)]
pub struct Trailers<'a> {
    /// The recipe's name.
    pub recipe: &'a str,
    /// 1-based step, the number of steps, and the step's kind.
    pub step: (usize, usize, &'a str),
    /// 1-based batch and the number of batches.
    pub batch: (usize, usize),
    /// The verify commands that passed, with their summaries.
    pub verified: Vec<(&'a str, &'a str)>,
    /// For a model batch: the model spec and the tokens it used.
    pub model: Option<(&'a str, crate::model::Usage)>,
    /// The batch's code owners (CODEOWNERS), who review it.
    pub owners: &'a [String],
}

impl Trailers<'_> {
    /// The trailer block, one line per trailer.
    pub fn render(&self) -> String {
        let one_line = |s: &str| s.replace('\n', " ");
        let mut out = format!("Ripple-Recipe: {}\n", self.recipe);
        out.push_str(&format!(
            "Ripple-Step: {}/{} {}\n",
            self.step.0, self.step.1, self.step.2
        ));
        out.push_str(&format!(
            "Ripple-Batch: {}/{}\n",
            self.batch.0, self.batch.1
        ));
        if self.verified.is_empty() {
            out.push_str("Ripple-Verified: none (the recipe has no verify commands)\n");
        }
        for (command, summary) in &self.verified {
            out.push_str(&format!(
                "Ripple-Verified: {} ({})\n",
                one_line(command),
                one_line(summary)
            ));
        }
        if !self.owners.is_empty() {
            out.push_str(&format!("Ripple-Owners: {}\n", self.owners.join(" ")));
        }
        if let Some((spec, u)) = self.model {
            let cache = match (u.cached, u.cache_write) {
                (0, 0) => String::new(),
                (read, 0) => format!(" ({read} cached)"),
                (0, write) => format!(" ({write} cache writes)"),
                (read, write) => format!(" ({read} cached, {write} cache writes)"),
            };
            out.push_str(&format!(
                "Ripple-Model: {spec}\nRipple-Tokens: {} in{cache}, {} out\n",
                u.input, u.output
            ));
        }
        out
    }
}

/// The `Ripple-*` trailers of a commit message, in order.
pub fn parse(message: &str) -> Vec<(String, String)> {
    message
        .lines()
        .filter_map(|l| l.split_once(": "))
        .filter(|(k, _)| k.starts_with("Ripple-"))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The batch a commit of `recipe` carries out, if the message is one.
pub fn batch_of(message: &str, recipe: &str) -> Option<usize> {
    let trailers = parse(message);
    trailers
        .iter()
        .any(|(k, v)| k == "Ripple-Recipe" && v == recipe)
        .then(|| {
            trailers
                .iter()
                .find(|(k, _)| k == "Ripple-Batch")
                .and_then(|(_, v)| v.split('/').next())
                .and_then(|k| k.trim().parse().ok())
        })
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_trailers_parse_back() {
        let t = Trailers {
            recipe: "rename-x",
            step: (1, 2, "rename"),
            batch: (3, 5),
            verified: vec![("go test ./...", "ok")],
            model: Some((
                "openai:m",
                crate::model::Usage {
                    input: 10,
                    output: 2,
                    cached: 6,
                    cache_write: 0,
                },
            )),
            owners: &["@shop/api".to_string(), "@shop/core".to_string()],
        };
        let message = format!("subject\n\nbody\n\n{}", t.render());
        assert_eq!(batch_of(&message, "rename-x"), Some(3));
        assert_eq!(batch_of(&message, "rename-y"), None);
        assert!(message.contains("Ripple-Owners: @shop/api @shop/core\n"));
        assert!(message.contains("Ripple-Tokens: 10 in (6 cached), 2 out\n"));
        let keys: Vec<String> = parse(&message).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "Ripple-Recipe",
                "Ripple-Step",
                "Ripple-Batch",
                "Ripple-Verified",
                "Ripple-Owners",
                "Ripple-Model",
                "Ripple-Tokens"
            ]
        );
    }
}
