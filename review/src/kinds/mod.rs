//! The kinds the reviewer knows. Each is a module with a catalogue of flaws (`CATALOGUE`), its
//! [`Kind`](crate::Kind), and `scenarios::<F>()` generic over the kind's harness contract; adding a
//! kind (deque, timer queue, rate limiter, commit tracker) is adding a module
//! like [`channel`] and a template under `review/templates/<kind>/`.
pub mod channel;
pub mod lock;
pub mod pool;
pub mod queue;
