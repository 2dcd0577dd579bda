//! What goes wrong, and when: a fault plan is a value (which call numbers fail and how, which
//! operations fail at random from a seed, when the process dies), so a test that fails can be
//! replayed exactly from its plan.

use crate::cloud::operation::Operation;
use std::collections::BTreeMap;

use crate::cloud::CloudError;

/// How one call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Throttled (`TooManyRequestsException`) before it takes effect.
    Throttled,
    /// A 5xx before it takes effect: `CloudError::Transient`, nothing happened.
    ServerError,
    /// The call takes effect, then its reply is lost (a dropped connection, a time-out):
    /// `CloudError::Transient`, though the change was made.
    LostReply,
}

/// Faults for the calls of one `MemoryCloud`. Calls are numbered from 1 across every trait of
/// the cloud, in the order they reach it (a throttled or failed call is a call too; a call
/// refused because the process is dead is not).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultPlan {
    seed: u64,
    at_calls: BTreeMap<u64, Fault>,
    random: Vec<RandomFault>,
    dies_after: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
struct RandomFault {
    /// `None`: every operation.
    operation: Option<Operation>,
    fault: Fault,
    probability: f64,
}

impl FaultPlan {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// No faults yet; random faults added later draw from `seed`.
    pub fn seeded(seed: u64) -> Self {
        Self {
            seed,
            ..Self::default()
        }
    }

    /// Call number `number` (from 1) fails with `fault`.
    pub fn at_call(mut self, number: u64, fault: Fault) -> Self {
        self.at_calls.insert(number, fault);
        self
    }

    /// Each call of `operation` (`None`: of any operation) fails with `fault` with this
    /// probability, drawn from the plan's seed. Rules are tried in the order they were added.
    pub fn randomly(
        mut self,
        operation: Option<Operation>,
        fault: Fault,
        probability: f64,
    ) -> Self {
        self.random.push(RandomFault {
            operation,
            fault,
            probability,
        });
        self
    }

    /// The process dies after call `calls`: every later call is refused and has no effect, as a
    /// dead process makes no calls. `dies_after(0)` refuses the very first call.
    pub fn dies_after(mut self, calls: u64) -> Self {
        self.dies_after = Some(calls);
        self
    }
}

/// What the cloud does with one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Decision {
    Proceed,
    Fail(Fault),
    /// The process is dead: no call, no effect.
    Refuse,
}

/// A plan and the state of its random draws.
#[derive(Debug, Clone, Default)]
pub(super) struct Faults {
    plan: FaultPlan,
    random: SplitMix,
}

impl Faults {
    pub(super) fn new(plan: FaultPlan) -> Self {
        Self {
            random: SplitMix::new(plan.seed),
            plan,
        }
    }

    pub(super) fn decide(&mut self, operation: Operation, number: u64) -> Decision {
        if self.plan.dies_after.is_some_and(|calls| number > calls) {
            return Decision::Refuse;
        }
        if let Some(fault) = self.plan.at_calls.get(&number) {
            return Decision::Fail(*fault);
        }
        for rule in &self.plan.random {
            if rule.operation.is_none_or(|wanted| wanted == operation)
                && self.random.fraction() < rule.probability
            {
                return Decision::Fail(rule.fault);
            }
        }
        Decision::Proceed
    }
}

/// The error a failed call returns.
pub(super) fn error(operation: Operation, fault: Fault) -> CloudError {
    match fault {
        Fault::Throttled => CloudError::Throttled {
            operation,
            code: "TooManyRequestsException".to_owned(),
        },
        Fault::ServerError => CloudError::Transient {
            operation,
            message: "InternalErrorException: injected 500".to_owned(),
        },
        Fault::LostReply => CloudError::Transient {
            operation,
            message: "the connection dropped after AWS processed the request (injected)".to_owned(),
        },
    }
}

/// What a dead process "gets": not retryable, so the engine stops at once.
pub(super) fn refused(operation: Operation) -> CloudError {
    CloudError::Rejected {
        operation,
        code: "ProcessDied".to_owned(),
        message: "the process died before this call (injected)".to_owned(),
    }
}

/// SplitMix64: small, seedable, and the same on every platform.
#[derive(Debug, Clone, Default)]
pub(super) struct SplitMix(u64);

impl SplitMix {
    pub(super) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut mixed = self.0;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        mixed ^ (mixed >> 31)
    }

    /// In [0, 1).
    pub(super) fn fraction(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `length` characters of `[a-z0-9]`, as Cognito's ids and secrets are made of.
    pub(super) fn text(&mut self, length: usize) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        (0..length)
            .map(|_| char::from(ALPHABET[(self.next() % ALPHABET.len() as u64) as usize]))
            .collect()
    }
}
