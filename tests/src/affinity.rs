//! Thread placement: [`Pinned`] keeps the calling thread on one CPU while it lives.
//!
//! Used wherever a measurement is about a *cross-core* hand-off (a wake-up round trip, a queue with
//! one producer and one consumer): left to the kernel, two threads on a 2-core machine are often run
//! on one core, and then the measurement is of context switches or `sched_yield`, not of the
//! hand-off.

/// Pins the current thread to one core while alive; restores the previous CPU set on drop.
///
/// Pinning the two sides of a ping-pong to different cores makes every wake-up a *cross-core*
/// wake-up; left alone, a loaded kernel may run both on one core, where a wake-up is just a context
/// switch (and a spinner waits for its own preemption).
pub struct Pinned {
    previous: Option<libc::cpu_set_t>,
}

impl Pinned {
    /// Pins the calling thread to `core` (no-op, with `previous = None`, if the call fails).
    pub fn to(core: usize) -> Pinned {
        // SAFETY: `cpu_set_t` is a plain bit array for which all-zero is a valid (empty) value; the
        // calls get its exact size, and pid 0 means the calling thread.
        unsafe {
            let mut old: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut old) != 0 {
                return Pinned { previous: None };
            }
            let mut one: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(core, &mut one);
            if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &one) != 0 {
                return Pinned { previous: None };
            }
            Pinned {
                previous: Some(old),
            }
        }
    }

    /// True when the pin took effect.
    pub fn is_pinned(&self) -> bool {
        self.previous.is_some()
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        if let Some(old) = self.previous {
            // SAFETY: `old` is the set `sched_getaffinity` filled in; pid 0 is the calling thread.
            unsafe {
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &old);
            }
        }
    }
}

/// The CPUs the calling thread may run on, in increasing order (empty when unknown).
pub fn allowed_cpus() -> Vec<usize> {
    // SAFETY: `cpu_set_t` is plain data (all-zero is an empty set); sched_getaffinity writes at most
    // `size_of::<cpu_set_t>()` bytes into it, and CPU_ISSET only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect()
    }
}
