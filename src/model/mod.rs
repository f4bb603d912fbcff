//! Language models, behind one small interface: send a system text and a user text, get the
//! answer text and the token usage. Three wire formats: OpenAI-compatible Chat Completions
//! (OpenAI, Ollama, vLLM, llama.cpp, LM Studio, OpenRouter), the OpenAI Responses API
//! (codex-class models) and Anthropic Messages.
//!
//! A model is chosen by a spec: `openai:gpt-5.2-codex`, `openai-chat:gpt-4.1`,
//! `anthropic:claude-sonnet-4-5`, `ollama:qwen2.5-coder:7b`,
//! `openai-compatible:<model>@<base-url>`. API keys come only from environment variables and
//! are never written anywhere. Transient failures (429, 5xx, dropped connections, time-outs)
//! are retried with exponential backoff and jitter, honouring `Retry-After`; nothing else is.
//! This module knows nothing about git or batches.

use std::collections::{HashMap, VecDeque};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Which wire format a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// OpenAI-compatible `/chat/completions` (OpenAI, Ollama, vLLM, llama.cpp, LM Studio).
    ChatCompletions,
    /// The OpenAI Responses API (`/responses`).
    Responses,
    /// Anthropic Messages (`/messages`).
    AnthropicMessages,
}

/// A parsed model spec: where to send what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSpec {
    /// The spec as written (trailers and transcripts name it).
    pub spec: String,
    /// The wire format.
    pub wire: Wire,
    /// The provider's model name.
    pub model: String,
    /// Where requests go (no trailing `/`).
    pub base_url: String,
    /// The environment variable the API key is read from (`None`: no key, e.g. Ollama).
    pub key_env: Option<String>,
}

/// Why a model could not be used or answered. `Config` stops before any change; the others
/// fail the batch (after retries, for the transient ones).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ModelError {
    /// The spec or the environment is wrong: stop.
    #[error("{message}")]
    #[diagnostic(code(ripple::model::config), help("{help}"))]
    Config {
        /// What is wrong.
        message: String,
        /// What to do.
        help: String,
    },
    /// The provider refused the request (4xx other than 429): not retried.
    #[error("the model provider answered {status}: {body}")]
    #[diagnostic(code(ripple::model::refused))]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The start of the provider's answer.
        body: String,
    },
    /// Still failing after the retries (429, 5xx, transport).
    #[error("the model provider failed after {attempts} attempts: {last}")]
    #[diagnostic(code(ripple::model::unavailable))]
    Unavailable {
        /// How many tries were made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
    /// A 200 answer without the expected shape.
    #[error("unexpected answer from the model provider: {0}")]
    #[diagnostic(code(ripple::model::protocol))]
    Protocol(String),
}

/// The forms a model spec takes.
pub const SPEC_FORMS: &str = "openai:MODEL, openai-chat:MODEL, anthropic:MODEL, ollama:MODEL or openai-compatible:MODEL@BASE_URL";

const HOW_TO_CONFIGURE: &str = "choose a model with --model SPEC, RIPPLE_MODEL, `git config ripple.model SPEC` or `model = \"SPEC\"` in the recipe; SPEC is openai:MODEL, openai-chat:MODEL, anthropic:MODEL, ollama:MODEL or openai-compatible:MODEL@BASE_URL";

fn env_or(var: &str, default: &str) -> String {
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

impl ModelSpec {
    /// Parse a spec. Base URLs can be redirected with OPENAI_BASE_URL, ANTHROPIC_BASE_URL and
    /// OLLAMA_HOST (proxies, gateways, tests).
    pub fn parse(spec: &str) -> Result<ModelSpec, ModelError> {
        let bad = |message: String| ModelError::Config {
            message,
            help: HOW_TO_CONFIGURE.to_string(),
        };
        let (provider, rest) = spec
            .split_once(':')
            .ok_or_else(|| bad(format!("`{spec}` is not a model spec")))?;
        if rest.is_empty() {
            return Err(bad(format!("`{spec}` names no model")));
        }
        let openai = || env_or("OPENAI_BASE_URL", "https://api.openai.com/v1");
        let (wire, model, base_url, key_env) = match provider {
            "openai" => (
                Wire::Responses,
                rest.to_string(),
                openai(),
                Some("OPENAI_API_KEY"),
            ),
            "openai-chat" => (
                Wire::ChatCompletions,
                rest.to_string(),
                openai(),
                Some("OPENAI_API_KEY"),
            ),
            "anthropic" => (
                Wire::AnthropicMessages,
                rest.to_string(),
                env_or("ANTHROPIC_BASE_URL", "https://api.anthropic.com/v1"),
                Some("ANTHROPIC_API_KEY"),
            ),
            "ollama" => (
                Wire::ChatCompletions,
                rest.to_string(),
                format!(
                    "{}/v1",
                    env_or("OLLAMA_HOST", "http://localhost:11434").trim_end_matches('/')
                ),
                None,
            ),
            "openai-compatible" => {
                let (model, base) = rest.rsplit_once('@').ok_or_else(|| {
                    bad(format!("`{spec}`: write openai-compatible:MODEL@BASE_URL"))
                })?;
                (
                    Wire::ChatCompletions,
                    model.to_string(),
                    base.to_string(),
                    Some("RIPPLE_API_KEY"),
                )
            }
            other => return Err(bad(format!("unknown model provider `{other}`"))),
        };
        Ok(ModelSpec {
            spec: spec.to_string(),
            wire,
            model,
            base_url: base_url.trim_end_matches('/').to_string(),
            key_env: key_env.map(str::to_string),
        })
    }
}

/// An answer and what it cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The answer's text.
    pub text: String,
    /// Its tokens, normalised across providers.
    pub usage: Usage,
}

/// Model tokens, counted the same way whatever the provider: `input` is every prompt token,
/// `cached` and `cache_write` the parts of it read from and written to the provider's prompt
/// cache. (OpenAI's `prompt_tokens` / `input_tokens` already include their `cached_tokens`;
/// Anthropic's `input_tokens` excludes `cache_read_input_tokens` and
/// `cache_creation_input_tokens`, which are added here.)
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Usage {
    /// Prompt tokens, cached ones included.
    pub input: u64,
    /// Answer tokens.
    pub output: u64,
    /// Prompt tokens read from the provider's cache.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cached: u64,
    /// Prompt tokens written to the provider's cache (billed above plain input).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_write: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        self.input += other.input;
        self.output += other.output;
        self.cached += other.cached;
        self.cache_write += other.cache_write;
    }
}

impl Usage {
    /// No tokens: rule batches, runs without a model.
    pub fn is_zero(&self) -> bool {
        *self == Usage::default()
    }

    /// What was used since `before` (an earlier reading of the same counter).
    pub fn since(&self, before: Usage) -> Usage {
        Usage {
            input: self.input.saturating_sub(before.input),
            output: self.output.saturating_sub(before.output),
            cached: self.cached.saturating_sub(before.cached),
            cache_write: self.cache_write.saturating_sub(before.cache_write),
        }
    }

    /// Prompt tokens neither read from nor written to a cache.
    pub fn plain_input(&self) -> u64 {
        self.input.saturating_sub(self.cached + self.cache_write)
    }

    /// What these tokens cost at `prices`.
    pub fn cost(&self, prices: &Prices) -> f64 {
        (self.plain_input() as f64 * prices.input
            + self.cached as f64 * prices.cached
            + self.cache_write as f64 * prices.cache_write
            + self.output as f64 * prices.output)
            / 1e6
    }
}

/// A model's prices per million tokens (`git config ripple.priceInput`, `ripple.priceOutput`,
/// `ripple.priceCachedInput`, `ripple.priceCacheWrite`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prices {
    /// Plain prompt tokens.
    pub input: f64,
    /// Answer tokens.
    pub output: f64,
    /// Prompt tokens read from the cache (unset: the plain input price, an upper bound).
    pub cached: f64,
    /// Prompt tokens written to the cache (unset: 1.25 × the input price, Anthropic's rate).
    pub cache_write: f64,
}

/// How transient failures are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// How many tries in all.
    pub attempts: u32,
    /// The first delay.
    pub base: Duration,
    /// No delay is longer.
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base: Duration::from_millis(500),
            max: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(Duration::from_secs(120));
        }
        let exp = self
            .base
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max);
        // Jitter: up to half the delay, from the clock (no RNG dependency needed).
        let nanos = Instant::now().elapsed().subsec_nanos() as u64
            ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos() as u64)
                .unwrap_or(0);
        let half = exp.as_millis() as u64 / 2;
        exp + Duration::from_millis(if half == 0 { 0 } else { nanos % half })
    }
}

/// The HTTP client: rustls with the ring provider (reqwest is built without one).
fn http_client(timeout: Duration) -> Result<reqwest::blocking::Client, ModelError> {
    // Installing the process-wide provider a second time is refused harmlessly.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| ModelError::Config {
            message: format!("cannot set up HTTP: {e}"),
            help: String::new(),
        })
}

/// A model client.
pub struct Client {
    /// What the client talks to.
    pub spec: ModelSpec,
    http: reqwest::blocking::Client,
    key: Option<String>,
    retry: RetryPolicy,
    /// Where every request and response is appended (JSON lines), once a run has an id.
    transcript: Mutex<Option<PathBuf>>,
    /// What the caller said the next requests are for (a run's `batch 3`), kept with them in
    /// the transcript.
    label: Mutex<Option<String>>,
    /// Replaying a transcript: recorded answers by request body, in order.
    replay: Option<Mutex<HashMap<String, VecDeque<String>>>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Client").field("spec", &self.spec).finish()
    }
}

impl Client {
    /// A client for `spec`, reading its API key from the environment.
    pub fn new(
        spec: ModelSpec,
        timeout: Duration,
        retry: RetryPolicy,
    ) -> Result<Client, ModelError> {
        let key = match &spec.key_env {
            Some(var) => {
                let key = std::env::var(var).ok().filter(|k| !k.is_empty());
                // An OpenAI-compatible local server usually needs no key.
                let optional =
                    spec.spec.starts_with("openai-compatible:") && var == "RIPPLE_API_KEY";
                if key.is_none() && !optional {
                    return Err(ModelError::Config {
                        message: format!("{var} is not set (needed for {})", spec.spec),
                        help: format!(
                            "export {var}=… ; git-ripple reads API keys only from the environment and never stores them"
                        ),
                    });
                }
                key
            }
            None => None,
        };
        let http = http_client(timeout)?;
        Ok(Client {
            spec,
            http,
            key,
            retry,
            transcript: Mutex::new(None),
            label: Mutex::new(None),
            replay: None,
        })
    }

    /// A client that answers from a transcript a recorded run wrote, without any network: the
    /// same requests get the same answers, so the run is reproduced exactly.
    pub fn replay(transcript: &Path) -> Result<Client, ModelError> {
        let text = std::fs::read_to_string(transcript).map_err(|e| ModelError::Config {
            message: format!("cannot read the transcript {}: {e}", transcript.display()),
            help: "a run writes .git/ripple/runs/<id>/transcript.jsonl".into(),
        })?;
        let mut answers: HashMap<String, VecDeque<String>> = HashMap::new();
        let mut spec = None;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: Value = serde_json::from_str(line).map_err(|e| ModelError::Config {
                message: format!(
                    "{} is not a git-ripple transcript: {e}",
                    transcript.display()
                ),
                help: String::new(),
            })?;
            if v["status"].as_u64() != Some(200) {
                continue;
            }
            if spec.is_none() {
                spec = v["spec"].as_str().map(str::to_string);
            }
            answers
                .entry(v["request"].to_string())
                .or_default()
                .push_back(v["response"].as_str().unwrap_or_default().to_string());
        }
        let spec = ModelSpec::parse(
            spec.as_deref()
                .unwrap_or("openai-compatible:replay@http://replay.invalid"),
        )?;
        Ok(Client {
            spec,
            http: http_client(Duration::from_secs(60))?,
            key: None,
            retry: RetryPolicy::default(),
            transcript: Mutex::new(None),
            label: Mutex::new(None),
            replay: Some(Mutex::new(answers)),
        })
    }

    /// Append every request and response to this file from now on.
    pub fn record_to(&self, path: PathBuf) {
        if let Ok(mut t) = self.transcript.lock() {
            *t = Some(path);
        }
    }

    /// Label the requests from now on in the transcript (`batch 3`): `explain` finds what a
    /// batch was sent by it.
    pub fn label(&self, label: &str) {
        if let Ok(mut l) = self.label.lock() {
            *l = Some(label.to_string());
        }
    }

    /// One transcript line: the request body, the status and the response body. Headers are
    /// not recorded (so neither are keys); prompts were redacted before they were built.
    fn record(&self, url: &str, request: &Value, status: Option<u16>, response: &str) {
        let Ok(guard) = self.transcript.lock() else {
            return;
        };
        let Some(path) = guard.as_ref() else {
            return;
        };
        let line = json!({
            "at_ms": std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
            "spec": self.spec.spec,
            "label": self.label.lock().ok().and_then(|l| l.clone()),
            "url": url,
            "request": request,
            "status": status,
            "response": response,
        });
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{line}");
        }
    }

    /// Ask the model. `stable` are the byte offsets in `user` where a prefix ends that later
    /// requests repeat (ascending): Anthropic requests mark the first and the last with
    /// `cache_control`, splitting the text into blocks there, so its prompt cache serves them;
    /// OpenAI caches repeated prefixes on its own.
    pub fn complete(
        &self,
        system: &str,
        user: &str,
        stable: &[usize],
    ) -> Result<Completion, ModelError> {
        let (url, body) = match self.spec.wire {
            Wire::ChatCompletions => (
                format!("{}/chat/completions", self.spec.base_url),
                json!({
                    "model": self.spec.model,
                    "messages": [
                        {"role": "system", "content": system},
                        {"role": "user", "content": user},
                    ],
                }),
            ),
            Wire::Responses => (
                format!("{}/responses", self.spec.base_url),
                json!({
                    "model": self.spec.model,
                    "instructions": system,
                    "input": [{"role": "user", "content": user}],
                }),
            ),
            Wire::AnthropicMessages => (
                format!("{}/messages", self.spec.base_url),
                json!({
                    "model": self.spec.model,
                    "max_tokens": 16000,
                    "system": system,
                    "messages": [{"role": "user", "content": anthropic_blocks(user, stable)}],
                }),
            ),
        };
        if let Some(replay) = &self.replay {
            let key = body.to_string();
            let answer = replay
                .lock()
                .ok()
                .and_then(|mut r| r.get_mut(&key).and_then(VecDeque::pop_front))
                .ok_or_else(|| {
                    ModelError::Protocol(
                        "the transcript has no answer for this request (the repository, the recipe or git-ripple differ from the recorded run)".into(),
                    )
                })?;
            let value: Value =
                serde_json::from_str(&answer).map_err(|e| ModelError::Protocol(e.to_string()))?;
            return self.read_answer(&value);
        }
        let mut last = String::new();
        for attempt in 0..self.retry.attempts {
            let mut request = self.http.post(&url).json(&body);
            request = match (self.spec.wire, &self.key) {
                (Wire::AnthropicMessages, Some(k)) => request
                    .header("x-api-key", k)
                    .header("anthropic-version", "2023-06-01"),
                (_, Some(k)) => request.bearer_auth(k),
                (_, None) => request,
            };
            let retry_after;
            match request.send() {
                Ok(response) => {
                    let status = response.status();
                    retry_after = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let text = response.text().unwrap_or_default();
                    self.record(&url, &body, Some(status.as_u16()), &text);
                    if status.is_success() {
                        let value: Value = serde_json::from_str(&text)
                            .map_err(|e| ModelError::Protocol(e.to_string()))?;
                        return self.read_answer(&value);
                    }
                    if status.as_u16() != 429 && !status.is_server_error() {
                        return Err(ModelError::Refused {
                            status: status.as_u16(),
                            body: text.chars().take(500).collect(),
                        });
                    }
                    last = format!("HTTP {status}");
                }
                Err(e) => {
                    retry_after = None;
                    last = e.to_string();
                    self.record(&url, &body, None, &last);
                }
            }
            if attempt + 1 < self.retry.attempts {
                std::thread::sleep(self.retry.delay(attempt, retry_after));
            }
        }
        Err(ModelError::Unavailable {
            attempts: self.retry.attempts,
            last,
        })
    }

    fn read_answer(&self, v: &Value) -> Result<Completion, ModelError> {
        let missing = || ModelError::Protocol(format!("no answer text in {}", truncate(v)));
        let n = |v: &Value| v.as_u64().unwrap_or(0);
        let u = &v["usage"];
        let (text, usage) = match self.spec.wire {
            Wire::ChatCompletions => (
                v["choices"][0]["message"]["content"]
                    .as_str()
                    .ok_or_else(missing)?
                    .to_string(),
                Usage {
                    input: n(&u["prompt_tokens"]),
                    output: n(&u["completion_tokens"]),
                    cached: n(&u["prompt_tokens_details"]["cached_tokens"]),
                    cache_write: 0,
                },
            ),
            Wire::Responses | Wire::AnthropicMessages => {
                // Responses: output[] messages with output_text parts; Messages: content[]
                // text parts. Both count usage as input_tokens / output_tokens.
                let parts: Vec<&Value> = if self.spec.wire == Wire::Responses {
                    v["output"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|o| o["type"] == "message")
                        .flat_map(|o| o["content"].as_array().into_iter().flatten())
                        .filter(|c| c["type"] == "output_text")
                        .collect()
                } else {
                    v["content"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|c| c["type"] == "text")
                        .collect()
                };
                let text: String = parts.iter().filter_map(|c| c["text"].as_str()).collect();
                if text.is_empty() {
                    return Err(missing());
                }
                let usage = if self.spec.wire == Wire::Responses {
                    Usage {
                        input: n(&u["input_tokens"]),
                        output: n(&u["output_tokens"]),
                        cached: n(&u["input_tokens_details"]["cached_tokens"]),
                        cache_write: 0,
                    }
                } else {
                    let (read, write) = (
                        n(&u["cache_read_input_tokens"]),
                        n(&u["cache_creation_input_tokens"]),
                    );
                    Usage {
                        input: n(&u["input_tokens"]) + read + write,
                        output: n(&u["output_tokens"]),
                        cached: read,
                        cache_write: write,
                    }
                };
                (text, usage)
            }
        };
        Ok(Completion { text, usage })
    }
}

/// The user text as Anthropic content: one block per stable prefix, the first and the last
/// of them marked for caching (the cache looks back over earlier block boundaries from a
/// mark, so a prefix that grows from request to request, like the ledger, is still found).
/// Without stable prefixes, the plain text.
fn anthropic_blocks(user: &str, stable: &[usize]) -> Value {
    let cuts: Vec<usize> = stable
        .iter()
        .copied()
        .filter(|&c| c > 0 && c < user.len() && user.is_char_boundary(c))
        .collect();
    if cuts.is_empty() {
        return Value::String(user.to_string());
    }
    let mut blocks = Vec::new();
    let mut start = 0;
    for (i, &cut) in cuts.iter().enumerate() {
        if cut <= start {
            continue;
        }
        let mut block = json!({"type": "text", "text": &user[start..cut]});
        if i == 0 || i + 1 == cuts.len() {
            block["cache_control"] = json!({"type": "ephemeral"});
        }
        blocks.push(block);
        start = cut;
    }
    blocks.push(json!({"type": "text", "text": &user[start..]}));
    Value::Array(blocks)
}

/// The system and user texts of a request body as a transcript records it, whatever its wire
/// format (Anthropic's content blocks joined back into one text).
pub fn request_texts(body: &Value) -> Option<(String, String)> {
    let text = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Array(blocks) => {
                Some(blocks.iter().filter_map(|b| b["text"].as_str()).collect())
            }
            _ => None,
        }
    };
    if let Some(instructions) = body["instructions"].as_str() {
        return Some((
            instructions.to_string(),
            text(&body["input"][0]["content"])?,
        ));
    }
    if body.get("system").is_some() {
        return Some((
            text(&body["system"])?,
            text(&body["messages"][0]["content"])?,
        ));
    }
    Some((
        text(&body["messages"][0]["content"])?,
        text(&body["messages"][1]["content"])?,
    ))
}

fn truncate(v: &Value) -> String {
    v.to_string().chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        let s = ModelSpec::parse("ollama:qwen2.5-coder:7b").expect("ollama");
        assert_eq!(s.wire, Wire::ChatCompletions);
        assert_eq!(s.model, "qwen2.5-coder:7b");
        assert_eq!(s.key_env, None);
        let s =
            ModelSpec::parse("openai-compatible:my-model@http://127.0.0.1:9/v1/").expect("compat");
        assert_eq!(
            (s.model.as_str(), s.base_url.as_str()),
            ("my-model", "http://127.0.0.1:9/v1")
        );
        assert_eq!(
            ModelSpec::parse("openai:gpt-5.2-codex")
                .expect("openai")
                .wire,
            Wire::Responses
        );
        assert_eq!(
            ModelSpec::parse("anthropic:claude")
                .expect("anthropic")
                .wire,
            Wire::AnthropicMessages
        );
        assert!(ModelSpec::parse("gpt-4").is_err());
        assert!(ModelSpec::parse("acme:x").is_err());
        assert!(ModelSpec::parse("openai-compatible:no-url").is_err());
    }

    #[test]
    fn https_clients_build_with_the_ring_provider() {
        // Building a TLS-capable client must not need another crypto provider.
        http_client(Duration::from_secs(1)).expect("https client");
        let spec = ModelSpec::parse("ollama:qwen").expect("spec");
        Client::new(spec, Duration::from_secs(1), RetryPolicy::default()).expect("client");
    }

    #[test]
    fn backoff_grows_and_honours_retry_after() {
        let p = RetryPolicy {
            attempts: 5,
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        assert!(p.delay(0, None) >= Duration::from_millis(100));
        assert!(p.delay(3, None) >= Duration::from_millis(800));
        assert!(p.delay(10, None) <= Duration::from_millis(1500));
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
    }
}
