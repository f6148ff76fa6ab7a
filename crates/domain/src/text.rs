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

/// Cleans a block of text (a request, a reply): keeps line breaks, drops other control
/// characters, trims each line's end and the whole, allows at most one empty line in a row,
/// and cuts at `max_chars` characters.
pub fn clean_block(input: &str, max_chars: usize) -> String {
    let text = input.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::new();
    let mut blank_lines = 0;
    for line in text.lines() {
        let line: String = line.chars().filter(|c| !c.is_control()).collect();
        let line = line.trim_end();
        if line.trim().is_empty() {
            blank_lines += 1;
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
            if blank_lines > 0 {
                out.push('\n');
            }
        }
        blank_lines = 0;
        out.push_str(line);
    }
    let out = out.trim().to_owned();
    if out.chars().count() > max_chars {
        out.chars().take(max_chars).collect()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_keep_paragraphs_but_lose_control_characters_and_runs_of_blank_lines() {
        assert_eq!(
            clean_block("  路灯坏了\r\n\r\n\r\n\u{7}三个月了  \n", 100),
            "路灯坏了\n\n三个月了"
        );
        assert_eq!(clean_block("一二三四", 2), "一二");
    }

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
