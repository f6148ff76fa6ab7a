//! Cleaning of free text typed by people: the one place that decides what "empty" and "too long" mean.

/// Removes control characters (keeping none: queries and names are one line), folds runs of
/// whitespace into one space, trims, and cuts at `max_chars` characters.
pub fn clean_line(input: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(input.len().min(max_chars * 4));
    let mut pending_space = false;
    let mut count = 0;
    for ch in input.chars() {
        if ch.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if ch.is_control() {
            continue;
        }
        if count >= max_chars {
            break;
        }
        if pending_space {
            out.push(' ');
            count += 1;
            pending_space = false;
            if count >= max_chars {
                break;
            }
        }
        out.push(ch);
        count += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_extra_spaces_are_removed() {
        assert_eq!(
            clean_line("  营业\u{0}执照\t\n 办理\u{3000} ", 100),
            "营业执照 办理"
        );
    }

    #[test]
    fn long_input_is_cut_at_the_limit_in_characters_not_bytes() {
        let long = "营".repeat(10_000);
        assert_eq!(clean_line(&long, 64).chars().count(), 64);
    }
}
