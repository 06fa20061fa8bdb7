//! FIFO vs LIFO on the discrete clock: same total wait, LIFO's worst is worse under overload.
#![cfg(not(loom))]
use phase2::fanout::discipline::{Order, bursty_arrivals, simulate};

#[test]
fn fifo_and_lifo_have_equal_total_wait_and_lifo_a_worse_tail() {
    let arrivals = bursty_arrivals(2_000, 1);
    let fifo = simulate(&arrivals, Order::Fifo);
    let lifo = simulate(&arrivals, Order::Lifo);
    assert_eq!(fifo.len(), arrivals.iter().sum::<usize>());
    assert_eq!(fifo.iter().sum::<u64>(), lifo.iter().sum::<u64>());
    assert!(lifo.iter().max() > fifo.iter().max());
}

#[test]
fn fifo_serves_in_arrival_order() {
    // 3 items at tick 0, one served per tick: waits 0, 1, 2 in FIFO; the first one waits longest in LIFO.
    assert_eq!(simulate(&[3], Order::Fifo), vec![0, 1, 2]);
    assert_eq!(simulate(&[3], Order::Lifo), vec![2, 1, 0]);
}
