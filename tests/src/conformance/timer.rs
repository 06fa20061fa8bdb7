//! The timer-queue conformance suite (filled in by the timers work).
