//! The fuzz tests' randomness: a seeded generator (SplitMix64: tiny, fast, and the same stream
//! on every platform) and the shapes drawn from it (bytes, JSON, text near a grammar).

use std::ops::Range;

/// Cases a target runs: its default `count`, scaled by `DYNISOLATE_FUZZ_SCALE`, from the seed
/// `DYNISOLATE_FUZZ_FIRST_SEED` on.
pub fn seeds(count: u64) -> Range<u64> {
    let read = |name: &str, default: u64| {
        std::env::var(name).ok().map_or(default, |v| v.parse().unwrap_or_else(|_| panic!("{name}={v:?} is no number")))
    };
    let first = read("DYNISOLATE_FUZZ_FIRST_SEED", 0);
    first..first + count * read("DYNISOLATE_FUZZ_SCALE", 1)
}

/// A deterministic stream of random numbers from one seed.
pub struct Rng(u64);

impl Rng {
    /// The stream of `seed` for the target named `target` (so targets sharing seeds differ).
    pub fn new(target: &str, seed: u64) -> Rng {
        let salt = target.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
        Rng(seed ^ salt)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// Up to `max_len` random bytes, short lengths more likely than long ones.
    pub fn bytes(&mut self, max_len: usize) -> Vec<u8> {
        let len = match self.below(4) {
            0 => self.below(8) as usize,
            1 => self.below(64) as usize,
            _ => self.below(max_len as u64 + 1) as usize,
        };
        (0..len).map(|_| self.next_u64() as u8).collect()
    }

    /// A number as text: small, at an edge, or not quite a number.
    pub fn number_text(&mut self) -> String {
        const EDGES: &[&str] = &[
            "0",
            "-0",
            "1",
            "-1",
            "7",
            "8",
            "12",
            "16",
            "21",
            "32",
            "64",
            "100",
            "128",
            "255",
            "256",
            "-256",
            "1e+21",
            "1e400",
            "-1e-400",
            "NaN",
            "Infinity",
            "-Infinity",
            "4294967296",
            "18446744073709551616",
            "0x10",
            "1.5",
            "",
            " 1",
            "+1",
            "1_000",
            "9007199254740993",
        ];
        match self.below(3) {
            0 => self.pick(EDGES).to_string(),
            1 => (self.next_u64() as i64 % 1_000).to_string(),
            _ => format!("{}.{}", self.next_u64() as i32, self.below(1_000_000)),
        }
    }

    /// A string with the characters parsers trip on: controls, quotes, separators, surrogate
    /// escapes, non-ASCII.
    pub fn nasty_text(&mut self, max_chars: usize) -> String {
        const PIECES: &[&str] = &[
            "a",
            "Z",
            "0",
            " ",
            "\n",
            "\r",
            "\0",
            "\u{1b}[2J",
            "\u{202e}",
            "\u{feff}",
            "\"",
            "\\",
            ";",
            "=",
            ":",
            "/",
            "?",
            "#",
            "*",
            "(",
            ")",
            "{",
            "}",
            "[",
            "]",
            "%",
            "%zz",
            "%00",
            "é",
            "ß",
            "\u{ff}",
            "漢",
            "😀",
            "\u{10ffff}",
            "xn--",
            ".",
            "..",
            "-",
            "@",
            "&",
            "|",
            "^",
            "$",
            "+",
        ];
        let n = self.below(max_chars as u64 + 1);
        (0..n).map(|_| *self.pick(PIECES)).collect()
    }

    /// Random, syntactically valid JSON, nesting at most `depth` deep.
    pub fn json(&mut self, depth: u32) -> String {
        let leaf = depth == 0 || self.chance(40);
        if leaf {
            return match self.below(6) {
                0 => "null".into(),
                1 => self.pick(&["true", "false"]).to_string(),
                2 => self.pick(&["0", "-0", "1e308", "-1e-320", "123456789012345678901234567890", "0.5"]).to_string(),
                3 => (self.next_u64() as i64).to_string(),
                4 => serde_json::to_string(&self.nasty_text(24)).unwrap(),
                _ => self.pick(&[r#""\ud800""#, r#""\udc00\ud800""#, r#""\u0000""#, r#""""#]).to_string(),
            };
        }
        let n = self.below(5);
        if self.chance(50) {
            let items: Vec<String> = (0..n).map(|_| self.json(depth - 1)).collect();
            format!("[{}]", items.join(","))
        } else {
            let items: Vec<String> = (0..n)
                .map(|_| {
                    let key = serde_json::to_string(&self.nasty_text(8)).unwrap();
                    format!("{key}:{}", self.json(depth - 1))
                })
                .collect();
            format!("{{{}}}", items.join(","))
        }
    }

    /// `text` damaged a little: bytes flipped, cut, or repeated, so it is nearly what a parser
    /// expects.
    pub fn mutate(&mut self, mut text: Vec<u8>) -> Vec<u8> {
        for _ in 0..=self.below(3) {
            if text.is_empty() {
                break;
            }
            let at = self.below(text.len() as u64) as usize;
            match self.below(4) {
                0 => text[at] = self.next_u64() as u8,
                1 => text.truncate(at),
                2 => text.insert(at, *self.pick(b"{}[]\",:\\0-e.")),
                _ => {
                    let tail = text[at..].to_vec();
                    text.extend_from_slice(&tail);
                }
            }
        }
        text
    }
}
