//! "Did you mean …?": the names closest to a mistyped one, for the hints of recipe errors,
//! unknown recipes, symbols and modules. Plain string distance, shared by every stage that
//! points a user at what they probably meant.

/// Levenshtein distance over chars (meant for short strings: names, keys, symbol IDs).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidates closest to `query`, nearest first (ties in candidate order), at most `limit`.
pub fn closest<'a>(
    query: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    limit: usize,
) -> Vec<&'a str> {
    let mut scored: Vec<(usize, usize, &str)> = candidates
        .into_iter()
        .enumerate()
        .map(|(i, c)| (edit_distance(query, c), i, c))
        .collect();
    scored.sort();
    scored.into_iter().take(limit).map(|(_, _, c)| c).collect()
}

/// The candidate within `max` edits of `query`, if one is.
pub fn within<'a>(
    query: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    max: usize,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(query, c), c))
        .filter(|(d, _)| *d <= max)
        .min()
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("fetch_order", "fetch_orders"), 1);
        assert_eq!(edit_distance("abc", "abc"), 0);
        assert_eq!(edit_distance("", "ab"), 2);
    }

    #[test]
    fn closest_first() {
        assert_eq!(
            closest("fetch_ordr", ["list_orders", "fetch_order", "x"], 1),
            ["fetch_order"]
        );
        assert_eq!(within("nme", ["name", "step"], 2), Some("name"));
        assert_eq!(within("zzzz", ["name"], 2), None);
    }
}
