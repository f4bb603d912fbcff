//! The serde form of a recipe: the file exactly as written, every value kept with its span so
//! that checks after parsing can still point at it.

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RecipeFile {
    pub(super) name: Spanned<String>,
    #[serde(default)]
    pub(super) description: Option<String>,
    #[serde(rename = "step", default)]
    pub(super) steps: Vec<Spanned<StepFile>>,
    #[serde(default)]
    pub(super) batch: Option<BatchFile>,
    #[serde(default)]
    pub(super) verify: Option<VerifyFile>,
    #[serde(default)]
    pub(super) commit: Option<CommitFile>,
    #[serde(default)]
    pub(super) model: Option<Spanned<String>>,
}

/// All step kinds share one table shape so that a key used with the wrong kind gets a precise
/// message ("`to` is not a key of a `model` step") instead of serde's generic one.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StepFile {
    pub(super) kind: Spanned<String>,
    #[serde(default)]
    pub(super) name: Option<Spanned<String>>,
    // rename
    #[serde(default)]
    pub(super) symbol: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) to: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) compat: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) keep_compat: Option<Spanned<bool>>,
    // rename: the name a package's re-export gives the symbol (`follow` or `keep`).
    #[serde(default)]
    pub(super) public: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) rename_tests: Option<Spanned<bool>>,
    #[serde(default)]
    pub(super) family: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) unsure: Option<Spanned<String>>,
    // move
    #[serde(default)]
    pub(super) from: Option<Spanned<String>>,
    // rewrite
    #[serde(default)]
    pub(super) language: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) query: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) query_file: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) template: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) replace: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) imports: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(rename = "rule", default)]
    pub(super) rules: Option<Spanned<Vec<Spanned<RuleFile>>>>,
    #[serde(default)]
    pub(super) paths: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub(super) exclude: Option<Spanned<Vec<Spanned<String>>>>,
    // model
    #[serde(default)]
    pub(super) instructions: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) repairs: Option<Spanned<u32>>,
    #[serde(default)]
    pub(super) new_files: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub(super) format_repairs: Option<Spanned<u32>>,
    #[serde(default)]
    pub(super) allow_delete: Option<Spanned<bool>>,
    #[serde(default)]
    pub(super) select: Option<Spanned<SelectFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleFile {
    #[serde(default)]
    pub(super) query: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) query_file: Option<Spanned<String>>,
    pub(super) template: Spanned<String>,
    #[serde(default)]
    pub(super) replace: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) imports: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SelectFile {
    #[serde(default)]
    pub(super) references: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) paths: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub(super) exclude: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub(super) query: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) language: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) propagate: Option<Spanned<usize>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BatchFile {
    #[serde(default)]
    pub(super) max_files: Option<Spanned<usize>>,
    #[serde(default)]
    pub(super) max_tokens: Option<Spanned<u64>>,
    #[serde(default)]
    pub(super) group: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) focus_above: Option<Spanned<usize>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VerifyFile {
    #[serde(default)]
    pub(super) commands: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) timeout: Option<Spanned<DurationFile>>,
    #[serde(rename = "final", default)]
    pub(super) final_commands: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) network: Option<bool>,
    #[serde(default)]
    pub(super) env: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) retries: Option<Spanned<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum DurationFile {
    Seconds(u64),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CommitFile {
    pub(super) message: Spanned<String>,
}
