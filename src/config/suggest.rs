//! "Did you mean" guesses for misspelt names: the closest known name by edit distance, if it is
//! close enough to be a plausible typo.

/// The candidate nearest to `wanted`, if any is within a third of its length (at least 2 edits).
pub fn closest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (wanted.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(wanted, candidate), candidate))
        .filter(|&(distance, _)| distance <= limit)
        .min_by(|left, right| left.0.cmp(&right.0).then_with(|| left.1.cmp(right.1)))
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance over characters, case-insensitive (a wrong case is one likely typo).
pub fn edit_distance(left: &str, right: &str) -> usize {
    let left: Vec<char> = left.chars().flat_map(char::to_lowercase).collect();
    let right: Vec<char> = right.chars().flat_map(char::to_lowercase).collect();
    let mut previous: Vec<usize> = (0..=right.len()).collect();
    let mut current = vec![0; right.len() + 1];
    for (row, left_char) in left.iter().enumerate() {
        current[0] = row + 1;
        for (column, right_char) in right.iter().enumerate() {
            let substitution = previous[column] + usize::from(left_char != right_char);
            current[column + 1] = substitution
                .min(previous[column + 1] + 1)
                .min(current[column] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[right.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("customer.read", "customer.read"), 0);
        assert_eq!(edit_distance("customer.reed", "customer.read"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn closest_picks_a_plausible_typo_only() {
        let known = ["customer.read", "customer.write"];
        assert_eq!(closest("customer.reed", known), Some("customer.read"));
        assert_eq!(closest("orders", known), None);
        assert_eq!(closest("consume", ["consumes", "client"]), Some("consumes"));
    }
}
