//! The timer-queue contract (filled in by the timers work).
