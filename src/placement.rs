//! The normative placement rule: which of several engines (docker contexts, podman connections)
//! a new bottle goes to, so that launchers on every host compute the same answer.
//!
//! For each context `c`, `score(c)` is FNV-1a 64 (the subnet rule's offset basis and prime) over
//! the slug's UTF-8 bytes, one `0x00` byte, then `c`'s UTF-8 bytes. A new bottle goes to the
//! reachable context with the highest score; of equal scores, the earlier in the list wins. The
//! `0x00` keeps `("ab", "c")` apart from `("a", "bc")`: a slug never holds that byte.
//!
//! Pure: no engine is asked anything here. Which contexts are reachable, and where a bottle
//! already is (it stays there, whatever the list), is for the caller to find out.

use crate::input::Slug;
use crate::subnet::fnv1a64;

/// The placement score of `slug` on `context`: FNV-1a 64 over the slug, `0x00`, the context.
///
/// ```
/// # use bottle::{Slug, placement_score};
/// let slug: Slug = "demo".parse().unwrap();
/// assert_eq!(placement_score(&slug, "pod"), 0xd7bdd2a8935ced4d);
/// ```
pub fn placement_score(slug: &Slug, context: &str) -> u64 {
    let mut bytes = Vec::with_capacity(slug.as_str().len() + 1 + context.len());
    bytes.extend_from_slice(slug.as_str().as_bytes());
    bytes.push(0);
    bytes.extend_from_slice(context.as_bytes());
    fnv1a64(&bytes)
}

/// The indices of `contexts` from the first choice for `slug` to the last: highest score first,
/// equal scores in list order. A new bottle goes to the first of these that is reachable.
///
/// ```
/// # use bottle::{Slug, placement_order};
/// let slug: Slug = "demo".parse().unwrap();
/// assert_eq!(placement_order(&slug, &["default", "pod"]), [1, 0]);
/// ```
pub fn placement_order(slug: &Slug, contexts: &[&str]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..contexts.len()).collect();
    // A stable sort: a tie keeps the earlier context first.
    order.sort_by_key(|&i| std::cmp::Reverse(placement_score(slug, contexts[i])));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slug(s: &str) -> Slug {
        s.parse().unwrap()
    }

    /// The rule by hand, byte by byte, against the module: the separator and its place.
    #[test]
    fn the_score_is_fnv_over_slug_nul_context() {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in b"demo\0pod" {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        assert_eq!(placement_score(&slug("demo"), "pod"), h);
        assert_ne!(
            placement_score(&slug("ab"), "c"),
            placement_score(&slug("a"), "bc")
        );
    }

    #[test]
    fn ties_go_to_the_earlier_context_and_order_does_not_change_the_choice() {
        let s = slug("z");
        assert_eq!(placement_order(&s, &["default", "default"]), [0, 1]);
        assert!(placement_order(&s, &[]).is_empty());
        // The chosen context is the same whatever the list's order.
        let a = ["default", "pod", "edge"];
        let b = ["edge", "default", "pod"];
        let first = |list: &[&str]| list[placement_order(&s, list)[0]].to_string();
        assert_eq!(first(&a), first(&b));
    }
}
