"""Messages between the hosts of a sharded run, host to host over TCP (see `Exchange`).

A host's steps trade a few messages with every other host (rows, legs, balances): through files they
cost a create, a rename, a read and an unlink each, and a receiver that polls for them either burns CPU
or wakes late. Over a connection a message is one write, and a waiting host wakes when it arrives. The
run's `Mailbox` (a folder or the run's object store) is only where the hosts find one another, and where
an abort is said.
"""

from __future__ import annotations

import contextlib
import pickle
import socket
import struct
import threading
import time

from sim.errors import SimError
from sim.mailbox import Mailbox

HEADER = struct.Struct("<QI")  # the payload's and the topic's lengths
LOOPBACK = "127.0.0.1"


class Exchange:
    """Host-to-host messages of a sharded run: `send(topic, to, value)` and `receive(topic, sender)`, as
    `Mailbox` has them. Each host listens on a port of `interface` (the loopback for hosts on this
    machine; "" for a cluster: every interface, with this machine's address posted), posts its address in
    `mail`, connects to every other host and accepts each one's connection. A thread per peer reads what
    that peer sends into an inbox, so a send never waits for the peer to read (two hosts sending each
    other much at once cannot block each other). A receive waits on the inbox and raises, naming why,
    when the run is aborted, the peer's connection ends or the peer is silent for `PATIENCE_S`."""

    PATIENCE_S = 900.0  # a peer silent this long is taken for dead
    LOOK_S = 0.5  # how often a waiting receive looks for an abort in the mailbox

    def __init__(self, mail: Mailbox, hosts: int, interface: str = LOOPBACK):
        self.mail, self.me = mail, mail.me
        self.peers = [h for h in range(hosts) if h != self.me]
        self._inbox: dict[tuple[int, str], object] = {}
        self._ended: dict[int, str] = {}  # a peer whose connection ended, and how
        self._arrived = threading.Condition()
        self._out: dict[int, socket.socket] = {}
        self._in: list[socket.socket] = []
        self._readers: list[threading.Thread] = []
        listener = socket.create_server((interface, 0), backlog=max(1, len(self.peers)))
        try:
            port = listener.getsockname()[1]
            mail.post(f"address-{self.me}", (interface or _this_machine(), port))
            for peer in self.peers:  # a connect completes on the peer's backlog: no host waits on another
                conn = socket.create_connection(self._address_of(peer), timeout=self.PATIENCE_S)
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # a message goes out at once
                conn.sendall(HEADER.pack(self.me, 0))
                self._out[peer] = conn
            listener.settimeout(self.PATIENCE_S)
            for _ in self.peers:
                conn, _ = listener.accept()
                conn.settimeout(None)
                peer = HEADER.unpack(_read_exactly(conn, HEADER.size))[0]
                self._in.append(conn)
                reader = threading.Thread(target=self._read, args=(peer, conn), name=f"exchange-{peer}",
                                          daemon=True)  # fmt: skip
                reader.start()
                self._readers.append(reader)
        except OSError as exc:
            self.close()
            raise SimError(
                f"host {self.me} of the sharded run could not reach the other hosts: {exc}"
            ) from exc
        finally:
            listener.close()

    def _address_of(self, peer: int) -> tuple[str, int]:
        deadline, pause = time.monotonic() + self.PATIENCE_S, 0.001
        while (address := self.mail.peek(f"address-{peer}")) is None:
            self._stop_if_aborted()
            if time.monotonic() > deadline:
                raise SimError(f"host {peer} of the sharded run never started ({self.PATIENCE_S:.0f} s)")
            time.sleep(pause)
            pause = min(2 * pause, 0.1)
        return tuple(address)

    def send(self, topic: str, to: int, value) -> None:
        data = pickle.dumps(value, protocol=5)
        name = topic.encode()
        try:
            self._out[to].sendall(HEADER.pack(len(data), len(name)) + name)
            self._out[to].sendall(data)
        except OSError as exc:
            self._stop_if_aborted()
            raise SimError(f"host {to} of the sharded run is gone ({topic}: {exc})") from exc

    def receive(self, topic: str, sender: int):
        key, deadline = (sender, topic), time.monotonic() + self.PATIENCE_S
        with self._arrived:
            while key not in self._inbox:
                if sender in self._ended:
                    self._stop_if_aborted()
                    raise SimError(f"host {sender} of the sharded run stopped ({self._ended[sender]}) "
                                   f"before sending {topic}")  # fmt: skip
                if time.monotonic() > deadline:
                    raise SimError(f"host {sender} sent nothing for {self.PATIENCE_S:.0f} s ({topic})")
                if not self._arrived.wait(self.LOOK_S):
                    self._stop_if_aborted()
            return self._inbox.pop(key)

    def _read(self, peer: int, conn: socket.socket) -> None:
        """What `peer` sends, into the inbox, until its connection ends (runs on a thread of its own)."""
        try:
            while True:
                head = _read_exactly(conn, HEADER.size, eof_ok=True)
                if head is None:
                    how = "its connection closed"
                    break
                size, named = HEADER.unpack(head)
                topic = _read_exactly(conn, named).decode()
                value = pickle.loads(_read_exactly(conn, size))
                with self._arrived:
                    self._inbox[(peer, topic)] = value
                    self._arrived.notify_all()
        except (OSError, EOFError, pickle.UnpicklingError) as exc:
            how = f"its connection failed: {exc}"
        with self._arrived:
            self._ended[peer] = how
            self._arrived.notify_all()

    def _stop_if_aborted(self) -> None:
        why = self.mail.aborted()
        if why is not None:
            raise SimError(f"a sharded run stopped: {why}")

    def close(self) -> None:
        """Close every connection: the peers' readers see them end once what was sent has arrived."""
        for conn in [*self._out.values(), *self._in]:
            with contextlib.suppress(OSError):  # already ended
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        for reader in self._readers:
            reader.join(timeout=5)
        self._out.clear()


def _read_exactly(conn: socket.socket, size: int, eof_ok: bool = False) -> bytearray | None:
    data = bytearray(size)
    view, got = memoryview(data), 0
    while got < size:
        n = conn.recv_into(view[got:])
        if n == 0:
            if eof_ok and got == 0:
                return None
            raise EOFError(f"the connection ended {size - got} bytes into a message")
        got += n
    return data


def _this_machine() -> str:
    """This machine's address as the cluster's other machines reach it: a Dask worker's own, else the
    address its name resolves to."""
    try:
        from distributed import get_worker

        return get_worker().ip
    except (ImportError, ValueError, AttributeError):
        return socket.gethostbyname(socket.gethostname())
