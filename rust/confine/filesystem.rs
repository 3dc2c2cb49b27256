//! Landlock: the calling thread, and every thread it starts afterwards, loses all filesystem
//! access. Threads that already run (wasmtime's epoch ticker) are not covered; the syscall filter,
//! which covers every thread, refuses opening files anyway. Landlock is the layer that still
//! holds if that filter had a gap.

use landlock::{ABI, Access, AccessFs, Ruleset, RulesetAttr, RulesetStatus};

use crate::error::{Error, Result};

/// How far the kernel enforced the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enforced {
    Fully,
    Partially,
    /// No Landlock in this kernel (or disabled at boot).
    Not,
}

impl Enforced {
    pub fn as_str(self) -> &'static str {
        match self {
            Enforced::Fully => "fully",
            Enforced::Partially => "partially",
            Enforced::Not => "not",
        }
    }
}

/// Denies every filesystem access Landlock can express to the calling thread and its future
/// threads: no rule allows anything.
pub fn restrict() -> Result<Enforced> {
    let abi = ABI::V5;
    let status = Ruleset::default()
        .handle_access(AccessFs::from_all(abi))
        .and_then(|ruleset| ruleset.create())
        .and_then(|ruleset| ruleset.restrict_self())
        .map_err(|e| Error::Confinement(format!("cannot apply Landlock rules: {e}")))?;
    Ok(match status.ruleset {
        RulesetStatus::FullyEnforced => Enforced::Fully,
        RulesetStatus::PartiallyEnforced => Enforced::Partially,
        RulesetStatus::NotEnforced => Enforced::Not,
    })
}
