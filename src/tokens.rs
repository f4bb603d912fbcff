//! Token counts: what a prompt costs (tiktoken's o200k_base, the encoding of current OpenAI
//! models, close enough for budgeting other providers' models too) and what a batch of source is
//! estimated to cost before any prompt exists. Below both the planner, which sizes batches, and
//! the context stage, which fits prompts into a budget, so the two count the same way.

use std::sync::OnceLock;

/// About four bytes of source per token: how batches are sized from file sizes alone.
pub const BYTES_PER_TOKEN: u64 = 4;

fn bpe() -> Option<&'static tiktoken_rs::CoreBPE> {
    static BPE: OnceLock<Option<tiktoken_rs::CoreBPE>> = OnceLock::new();
    BPE.get_or_init(|| tiktoken_rs::o200k_base().ok()).as_ref()
}

/// Tokens in `text`, counted with the real tokenizer.
pub fn count_tokens(text: &str) -> usize {
    match bpe() {
        Some(b) => b.encode_with_special_tokens(text).len(),
        None => text.len().div_ceil(4),
    }
}

/// Tokens estimated from a size in bytes (at least one, so an empty file still counts).
pub fn estimate_from_bytes(bytes: u64) -> u64 {
    bytes.div_ceil(BYTES_PER_TOKEN).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_counted_with_a_real_tokenizer() {
        assert_eq!(count_tokens(""), 0);
        let n = count_tokens("def fetch_order(order_id: int) -> Order:");
        assert!((5..20).contains(&n), "{n}");
        assert_eq!(estimate_from_bytes(0), 1);
        assert_eq!(estimate_from_bytes(9), 3);
    }
}
