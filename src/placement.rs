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

use crate::error::{Error, Invalid, Result};
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

/// Check a fleet's context names: one at least, none empty or repeated, each a name a docker
/// context can have.
pub(crate) fn check_contexts(contexts: &[&str]) -> Result<()> {
    let refuse = |why: String| Err(Error::invalid(Invalid::Context, why));
    if contexts.is_empty() {
        return refuse("a fleet needs at least one context".to_string());
    }
    for (i, c) in contexts.iter().enumerate() {
        let mut chars = c.chars();
        let first_ok = chars.next().is_some_and(|f| f.is_ascii_alphanumeric());
        let rest_ok = chars.all(|ch| ch.is_ascii_alphanumeric() || "_.+-".contains(ch));
        if c.is_empty() {
            return refuse("empty context name in the list".to_string());
        }
        if !(first_ok && rest_ok) {
            return refuse(format!(
                "invalid context name `{c}`: a context name is [a-zA-Z0-9][a-zA-Z0-9_.+-]*"
            ));
        }
        if contexts[..i].contains(c) {
            return refuse(format!("context `{c}` is named twice"));
        }
    }
    Ok(())
}

/// What one context's look at a slug showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Look {
    /// The context holds the bottle.
    Found,
    /// The context answered, and holds no such bottle.
    Absent,
    /// The context's engine did not answer (`EngineUnavailable`).
    Dead,
    /// The look failed otherwise (an engine error, a resource that is not bottle's): whether the
    /// context holds the bottle is not known.
    Failed,
}

/// Where a slug is, or where a new bottle of it goes, over a list of contexts (indices into it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Where {
    /// Held by `at`, the best-scoring context that holds it; `also` hold it too (a copy made when
    /// a placement went around a dead context), best first.
    Found { at: usize, also: Vec<usize> },
    /// Held by no context that answered: a new bottle goes to `at`, the best-scoring context that
    /// answered; `skipped` are the dead contexts that score higher, best first.
    Absent { at: usize, skipped: Vec<usize> },
    /// Held by no context that answered, and the look at `at` (the best-scoring such) failed
    /// otherwise: it may hold the bottle, so nothing is placed.
    Failed { at: usize },
    /// No context answered.
    Unanswered,
}

/// Where `slug` is, or goes, given each context's look (`looks[i]` is `contexts[i]`'s). A bottle
/// that exists stays where it is, whatever the order of the list; a new one follows the rule.
pub(crate) fn locate(slug: &Slug, contexts: &[&str], looks: &[Look]) -> Where {
    let order = placement_order(slug, contexts);
    let with = |look: Look| order.iter().copied().filter(move |&i| looks[i] == look);
    let mut found = with(Look::Found);
    if let Some(at) = found.next() {
        return Where::Found {
            at,
            also: found.collect(),
        };
    }
    if let Some(at) = with(Look::Failed).next() {
        return Where::Failed { at };
    }
    let Some(rank) = order.iter().position(|&i| looks[i] == Look::Absent) else {
        return Where::Unanswered;
    };
    Where::Absent {
        at: order[rank],
        skipped: order[..rank].to_vec(),
    }
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

    #[track_caller]
    fn check(contexts: &[&str], looks: &[Look], want: Where) {
        assert_eq!(locate(&slug("demo"), contexts, looks), want);
    }

    /// `demo` scores `pod` above `default` (the rustdoc example above), and `edge` in between
    /// or not: the table reads the order from `placement_order` itself.
    #[test]
    fn where_a_slug_is_or_goes() {
        use Look::*;
        let two = ["default", "pod"];
        // demo's order over [default, pod] is [pod, default].
        assert_eq!(placement_order(&slug("demo"), &two), [1, 0]);
        let cases: &[(&[Look], Where)] = &[
            // New: the best-scoring context.
            (
                &[Absent, Absent],
                Where::Absent {
                    at: 1,
                    skipped: vec![],
                },
            ),
            // The best one is dead: the next, and the dead one named.
            (
                &[Absent, Dead],
                Where::Absent {
                    at: 0,
                    skipped: vec![1],
                },
            ),
            // A dead context that scores lower is not in the way.
            (
                &[Dead, Absent],
                Where::Absent {
                    at: 1,
                    skipped: vec![],
                },
            ),
            // An existing bottle stays where it is, on the lower-scoring context too.
            (
                &[Found, Absent],
                Where::Found {
                    at: 0,
                    also: vec![],
                },
            ),
            (
                &[Found, Dead],
                Where::Found {
                    at: 0,
                    also: vec![],
                },
            ),
            // On both: the best-scoring holder, the other named.
            (
                &[Found, Found],
                Where::Found {
                    at: 1,
                    also: vec![0],
                },
            ),
            // A failed look may hide the bottle: nothing is placed.
            (&[Absent, Failed], Where::Failed { at: 1 }),
            (&[Failed, Dead], Where::Failed { at: 0 }),
            (
                &[Found, Failed],
                Where::Found {
                    at: 0,
                    also: vec![],
                },
            ),
            (&[Dead, Dead], Where::Unanswered),
        ];
        for (looks, want) in cases {
            check(&two, looks, want.clone());
        }
        check(&[], &[], Where::Unanswered);
    }

    #[test]
    fn an_existing_bottle_stays_whatever_the_order_of_the_list() {
        use Look::*;
        check(
            &["pod", "default"],
            &[Absent, Found],
            Where::Found {
                at: 1,
                also: vec![],
            },
        );
        check(
            &["default", "pod"],
            &[Found, Absent],
            Where::Found {
                at: 0,
                also: vec![],
            },
        );
    }

    #[test]
    fn context_lists_are_checked() {
        let ok = |l: &[&str]| check_contexts(l).is_ok();
        assert!(ok(&["default"]));
        assert!(ok(&["default", "pod", "a.b_c+d-e"]));
        assert!(!ok(&[]));
        assert!(!ok(&[""]));
        assert!(!ok(&["default", "default"]));
        assert!(!ok(&["-x"]));
        assert!(!ok(&["a b"]));
        assert!(!ok(&["a/b"]));
    }
}
