"""The hosts' exchange: messages by topic, no deadlock when hosts send each other much at once, and a
host that waits is told, not left waiting, when a peer stops or the run is aborted."""

import threading
import time

import numpy as np
import pytest

from sim.errors import SimError
from sim.exchange import Exchange
from sim.mailbox import Mailbox


def connected(root, hosts: int) -> list[Exchange]:
    """`hosts` exchanges meeting in the folder `root`, each built on a thread (each waits for the others)."""
    made: dict[int, Exchange] = {}

    def make(i: int) -> None:
        made[i] = Exchange(Mailbox(str(root), i), hosts)

    threads = [threading.Thread(target=make, args=(i,)) for i in range(hosts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(made) == list(range(hosts))
    return [made[i] for i in range(hosts)]


def test_messages_arrive_by_topic_whatever_the_order_they_are_asked_for(tmp_path):
    a, b, c = connected(tmp_path, 3)
    try:
        a.send("1.rows", 1, {"x": np.arange(5)})
        a.send("1.legs", 1, "legs")
        c.send("1.rows", 1, None)
        assert b.receive("1.legs", 0) == "legs"
        assert b.receive("1.rows", 2) is None
        assert b.receive("1.rows", 0)["x"].tolist() == [0, 1, 2, 3, 4]
    finally:
        for x in (a, b, c):
            x.close()


def test_two_hosts_sending_each_other_more_than_a_socket_holds_do_not_block(tmp_path):
    a, b = connected(tmp_path, 2)
    big = np.arange(8_000_000, dtype=np.float64)  # 64 MB each way, far past the sockets' buffers
    try:
        done = []

        def trade(me, peer):
            me.send("big", peer, big * (peer + 1))
            done.append(float(me.receive("big", peer)[-1]))

        threads = [
            threading.Thread(target=trade, args=(a, 1)),
            threading.Thread(target=trade, args=(b, 0)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(done) == [big[-1], 2 * big[-1]]
    finally:
        a.close()
        b.close()


def test_a_waiting_host_hears_when_its_peer_stops(tmp_path):
    a, b = connected(tmp_path, 2)
    a.send("last", 1, 7)
    a.close()  # what it sent before closing still arrives
    try:
        assert b.receive("last", 0) == 7
        with pytest.raises(SimError, match=r"host 0 of the sharded run stopped .*before sending 1.legs"):
            b.receive("1.legs", 0)
    finally:
        b.close()


def test_an_abort_stops_a_waiting_host_with_its_reason(tmp_path):
    a, b = connected(tmp_path, 2)
    try:
        threading.Timer(0.2, Mailbox(str(tmp_path)).abort, args=("host 0 failed: out of memory",)).start()
        started = time.monotonic()
        with pytest.raises(SimError, match="a sharded run stopped: host 0 failed: out of memory"):
            b.receive("1.legs", 0)
        assert time.monotonic() - started < 0.2 + 2 * Exchange.LOOK_S
    finally:
        a.close()
        b.close()
