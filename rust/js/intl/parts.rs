//! Formatted text with its ECMA-402 part types (`formatToParts`), collected from ICU4X's
//! `Writeable` part annotations.

use std::fmt;

use writeable::{Part, PartsWrite, Writeable};

/// Text, and the part type of each run of it; runs ICU4X leaves unannotated are `literal`.
#[derive(Debug, Default)]
pub struct Parts {
    pub text: String,
    /// `(start, end, type)` byte ranges of `text`, innermost annotations only, in order.
    spans: Vec<(usize, usize, &'static str)>,
}

impl Parts {
    pub fn of(writeable: &impl Writeable) -> Parts {
        let mut parts = Parts::default();
        // Writing to a String cannot fail.
        let _ = writeable.write_to_parts(&mut parts);
        parts
    }

    /// Appends `text` as one part of type `kind`.
    pub fn push(&mut self, text: &str, kind: &'static str) {
        let start = self.text.len();
        self.text.push_str(text);
        self.spans.push((start, self.text.len(), kind));
    }

    /// Appends all of `other`, its parts kept.
    pub fn append(&mut self, other: Parts) {
        let offset = self.text.len();
        self.text.push_str(&other.text);
        self.spans.extend(other.spans.into_iter().map(|(start, end, kind)| (start + offset, end + offset, kind)));
    }

    /// The byte range from the first to the last part whose type is in `kinds`.
    pub fn range_of(&self, kinds: &[&str]) -> Option<(usize, usize)> {
        let mut matching = self.spans.iter().filter(|(_, _, kind)| kinds.contains(kind));
        let first = matching.next()?;
        let last = matching.next_back().unwrap_or(first);
        Some((first.0, last.1))
    }

    /// These parts with the bytes `start..end` replaced by `inner`'s.
    pub fn splice(self, start: usize, end: usize, inner: Parts) -> Parts {
        let mut out = Parts::default();
        out.append(self.slice(0, start));
        out.append(inner);
        out.append(self.slice(end, self.text.len()));
        out
    }

    fn slice(&self, start: usize, end: usize) -> Parts {
        let spans = self
            .spans
            .iter()
            .filter(|(s, e, _)| *s >= start && *e <= end)
            .map(|(s, e, kind)| (s - start, e - start, *kind))
            .collect();
        Parts { text: self.text[start..end].to_owned(), spans }
    }

    /// Gives every unannotated run the type `kind`, but for the spaces around it (a currency
    /// symbol, a percent sign, a compact suffix: what a pattern adds to the number).
    pub fn mark_other_literals(&mut self, kind: &'static str) {
        let is_space = |c: char| c.is_whitespace() || c == '\u{a0}' || c == '\u{202f}';
        for (start, end) in self.literal_runs() {
            let run = &self.text[start..end];
            let trimmed = run.trim_start_matches(is_space);
            let from = start + (run.len() - trimmed.len());
            let to = from + trimmed.trim_end_matches(is_space).len();
            if to > from {
                self.spans.push((from, to, kind));
            }
        }
        self.spans.sort_by_key(|span| span.0);
    }

    fn literal_runs(&self) -> Vec<(usize, usize)> {
        let mut runs = Vec::new();
        let mut at = 0;
        for &(start, end, _) in &self.spans {
            if start > at {
                runs.push((at, start));
            }
            at = at.max(end);
        }
        if at < self.text.len() {
            runs.push((at, self.text.len()));
        }
        runs
    }

    /// The parts as JSON, `[[type, text], ...]`, every byte in exactly one part.
    pub fn to_json(&self) -> String {
        let mut list = Vec::new();
        let mut at = 0;
        for &(start, end, kind) in &self.spans {
            if start < at {
                continue; // overlapped by an earlier part
            }
            if start > at {
                list.push(serde_json::json!(["literal", &self.text[at..start]]));
            }
            list.push(serde_json::json!([kind, &self.text[start..end]]));
            at = end;
        }
        if at < self.text.len() {
            list.push(serde_json::json!(["literal", &self.text[at..]]));
        }
        serde_json::Value::Array(list).to_string()
    }
}

impl fmt::Write for Parts {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.text.push_str(s);
        Ok(())
    }
}

impl PartsWrite for Parts {
    type SubPartsWrite = Parts;

    fn with_part(&mut self, part: Part, mut f: impl FnMut(&mut Parts) -> fmt::Result) -> fmt::Result {
        let start = self.text.len();
        let inner_from = self.spans.len();
        f(self)?;
        // A date's field is one part, whatever number formatting wrote its digits.
        if part.category == "datetime" {
            self.spans.truncate(inner_from);
        }
        // Inner parts keep their type (the group separators inside an integer); the rest of the
        // run is this part's.
        let mut gaps = Vec::new();
        let mut at = start;
        for &(inner_start, inner_end, _) in &self.spans[inner_from..] {
            if inner_start > at {
                gaps.push((at, inner_start, part.value));
            }
            at = at.max(inner_end);
        }
        if self.text.len() > at {
            gaps.push((at, self.text.len(), part.value));
        }
        self.spans.extend(gaps);
        self.spans[inner_from..].sort_by_key(|span| span.0);
        Ok(())
    }
}
