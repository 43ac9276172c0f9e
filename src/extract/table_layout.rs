//! Where a table's columns are, and which words of a row belong to which
//! column. Works on character positions (not bytes) after tab expansion.
//!
//! Rules, in the order they apply:
//!
//! 1. **Header words.** The header is split at whitespace. Words separated by
//!    two or more spaces are different columns. Words separated by a single
//!    space (`Mounted on`, `MANAGER STATUS`, but also df's `Used Available`)
//!    are different columns only if the data says so: in at least half of the
//!    rows that reach that far, a word *aligns* with the second header word —
//!    starts where it starts (left-aligned text) or ends where it ends
//!    (right-aligned numbers). Otherwise the words form one column name.
//! 2. **Header-less input** (`columns` given): column extents are the runs of
//!    text between positions that are blank on *every* row; gaps of two or
//!    more blanks are preferred, single blanks are used when that finds too
//!    few columns. Extra text goes to the last column; missing columns are
//!    empty.
//! 3. **Cells.** Each word of a row goes to the column whose header span it
//!    overlaps (so right-aligned numbers that start left of their header
//!    still land right); when it overlaps none, to the column whose region
//!    (from its header start to the next header start) contains the word's
//!    start. Words never move left of an earlier word's column. The last
//!    column takes the rest of the line. A cell is the row text from its
//!    first to its last word, so inner spaces (`/mnt/backup disk`,
//!    `*:80->80/tcp, *:443->443/tcp`) are kept.

/// A run of non-blank characters, `[start, end)` in character positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Word {
    pub start: usize,
    pub end: usize,
}

/// One column: its name and the span used to attach words to it.
#[derive(Debug, Clone)]
pub(super) struct Column {
    pub name: String,
    /// Header text span (or data extent for header-less input).
    pub anchor: Word,
}

/// A line as characters, with tabs expanded to 8-column stops so positions
/// match what a terminal shows.
pub(super) fn expand(line: &str) -> Vec<char> {
    let mut out = Vec::with_capacity(line.len());
    for c in line.trim_end_matches(['\r', '\n']).chars() {
        if c == '\t' {
            let next = (out.len() / 8 + 1) * 8;
            out.resize(next, ' ');
        } else {
            out.push(c);
        }
    }
    out
}

pub(super) fn words(line: &[char]) -> Vec<Word> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in line.iter().enumerate() {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                words.push(Word { start: s, end: i });
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push(Word {
            start: s,
            end: line.len(),
        });
    }
    words
}

fn text(line: &[char], span: Word) -> String {
    line[span.start..span.end].iter().collect()
}

/// Columns from a header line, merging single-space-separated header words
/// that the data does not separate (rule 1).
pub(super) fn columns_from_header(header: &[char], rows: &[Vec<char>]) -> Vec<Column> {
    let header_words = words(header);
    let row_words: Vec<Vec<Word>> = rows.iter().map(|r| words(r)).collect();
    let mut groups: Vec<Word> = Vec::new();
    for (i, word) in header_words.iter().enumerate() {
        let joins_previous = i > 0 && {
            let previous = header_words[i - 1];
            word.start == previous.end + 1 && !data_separates(*word, &row_words)
        };
        match groups.last_mut() {
            Some(group) if joins_previous => group.end = word.end,
            _ => groups.push(*word),
        }
    }
    groups
        .into_iter()
        .map(|anchor| Column {
            name: text(header, anchor),
            anchor,
        })
        .collect()
}

/// Whether rows show `second` as a column of its own: a row word aligned
/// with it on the left or the right, in at least half of the rows that
/// have text at or past its start.
fn data_separates(second: Word, rows: &[Vec<Word>]) -> bool {
    let mut reaching = 0;
    let mut aligned = 0;
    for row in rows {
        if !row.iter().any(|w| w.end > second.start) {
            continue;
        }
        reaching += 1;
        if row
            .iter()
            .any(|w| w.start >= second.start && (w.start == second.start || w.end == second.end))
        {
            aligned += 1;
        }
    }
    aligned > 0 && aligned * 2 >= reaching
}

/// Columns for header-less input from the blank gutters shared by all rows
/// (rule 2).
pub(super) fn columns_from_data(names: &[String], rows: &[Vec<char>]) -> Vec<Column> {
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    // One pass over every character (not width × rows: one long line among
    // many short ones must not cost their product).
    let mut blank = vec![true; width];
    for row in rows {
        for (p, c) in row.iter().enumerate() {
            if !c.is_whitespace() {
                blank[p] = false;
            }
        }
    }
    let mut extents = extents(&blank, 2);
    if extents.len() < names.len() {
        extents = extents_or_more(&blank, extents);
    }
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let anchor = if i + 1 == names.len() && extents.len() > names.len() {
                // The last column takes the rest of the line.
                Word {
                    start: extents[i].start,
                    end: extents.last().map_or(width, |w| w.end),
                }
            } else {
                // A column no row reaches: an empty span past the end.
                extents.get(i).copied().unwrap_or(Word {
                    start: width + 1 + i,
                    end: width + 1 + i,
                })
            };
            Column {
                name: name.clone(),
                anchor,
            }
        })
        .collect()
}

fn extents_or_more(blank: &[bool], two_space: Vec<Word>) -> Vec<Word> {
    let one_space = extents(blank, 1);
    if one_space.len() > two_space.len() {
        one_space
    } else {
        two_space
    }
}

/// Runs of non-blank positions, where only `min_gap` or more consecutive
/// blank positions end a run.
fn extents(blank: &[bool], min_gap: usize) -> Vec<Word> {
    let mut out: Vec<Word> = Vec::new();
    let mut p = 0;
    while p < blank.len() {
        if blank[p] {
            p += 1;
            continue;
        }
        let start = p;
        let mut end = p;
        while p < blank.len() {
            if !blank[p] {
                p += 1;
                end = p;
                continue;
            }
            let gap_end = blank[p..]
                .iter()
                .position(|b| !b)
                .map_or(blank.len(), |n| p + n);
            if gap_end - p >= min_gap || gap_end == blank.len() {
                break;
            }
            p = gap_end;
        }
        out.push(Word { start, end });
        p = end;
    }
    out
}

/// The cells of one row, one per column (rule 3); `""` for empty cells.
pub(super) fn cells(columns: &[Column], line: &[char]) -> Vec<String> {
    if columns.is_empty() {
        return Vec::new();
    }
    let mut spans: Vec<Option<Word>> = vec![None; columns.len()];
    let mut floor = 0;
    for word in words(line) {
        let column = pick_column(columns, word).max(floor);
        floor = column;
        let span = spans[column].get_or_insert(word);
        span.end = word.end;
    }
    spans
        .into_iter()
        .map(|span| span.map_or_else(String::new, |s| text(line, s)))
        .collect()
}

fn pick_column(columns: &[Column], word: Word) -> usize {
    // The column whose region (header start up to the next header start)
    // holds the word's start.
    let by_region = columns
        .iter()
        .rposition(|c| c.anchor.start <= word.start)
        .unwrap_or(0);
    let overlap = |c: &Column| {
        let lo = c.anchor.start.max(word.start);
        let hi = c.anchor.end.min(word.end);
        hi.saturating_sub(lo)
    };
    if overlap(&columns[by_region]) > 0 {
        return by_region;
    }
    let mut best = (0, by_region);
    for (i, column) in columns.iter().enumerate() {
        let o = overlap(column);
        if o > best.0 {
            best = (o, i);
        }
    }
    best.1
}
