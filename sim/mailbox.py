"""Messages between tasks that run at once (the hosts of a sharded run), through a folder every one of
them reaches: files written whole and renamed, read once and deleted (see `Mailbox`)."""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import time
from pathlib import Path

from sim.errors import SimError
from sim.storage import is_uri


class Mailbox:
    """Messages between tasks that run at once (the hosts of a sharded run), through a folder every one of
    them reaches: a local folder for a local pool or a LocalCluster on this machine, the run's object store
    (a URI) for a cluster. The driver never reads it, so nothing the tasks exchange passes through the
    driver. `send(topic, to, value)` posts a picklable value; `receive(topic, sender)` waits for it, reads
    it once and deletes it. `abort(why)` makes every task waiting on the folder raise instead of waiting.
    """

    ABORT = "abort"
    PATIENCE_S = 900.0  # a peer silent this long is taken for dead

    def __init__(self, root: str, me: int = -1):
        self.root, self.me = root.rstrip("/"), me
        self._fs = None
        if is_uri(root):
            from pyarrow import fs

            self._fs, self._path = fs.FileSystem.from_uri(self.root)
        else:
            self._path = self.root
            os.makedirs(self.root, exist_ok=True)

    def _name(self, topic: str, sender: int, to: int) -> str:
        return f"{self._path}/{topic}.{sender}-{to}"

    def send(self, topic: str, to: int, value) -> None:
        data = pickle.dumps(value, protocol=5)
        path = self._name(topic, self.me, to)
        if self._fs is None:  # written beside, then renamed: a reader never sees half a message
            tmp = f"{self._path}/.{topic}.{self.me}-{to}.tmp"
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
            return
        with self._fs.open_output_stream(path) as f:  # an object appears whole when its upload ends
            f.write(data)

    def receive(self, topic: str, sender: int):
        path = self._name(topic, sender, self.me)
        waited, deadline = 0, time.monotonic() + self.PATIENCE_S
        pause, longest = (2e-5, 0.001) if self._fs is None else (0.002, 0.05)  # a store's requests cost more
        while True:
            data = self._read(path)
            if data is not None:
                return pickle.loads(data)
            waited += 1
            if waited % 16 == 0:
                why = self._read(f"{self._path}/{self.ABORT}", delete=False)
                if why is not None:
                    raise SimError(f"a sharded run stopped: {why.decode()}")
                if time.monotonic() > deadline:
                    raise SimError(f"host {sender} sent nothing for {self.PATIENCE_S:.0f} s ({topic})")
            time.sleep(pause)
            pause = min(pause * 2, longest)

    def _read(self, path: str, delete: bool = True) -> bytes | None:
        try:
            if self._fs is None:
                with open(path, "rb") as f:
                    data = f.read()
                if delete:
                    os.unlink(path)
                return data
            with self._fs.open_input_stream(path) as f:
                data = f.read()
            if delete:
                self._fs.delete_file(path)
            return data
        except FileNotFoundError:
            return None
        except OSError:
            if self._fs is not None and self._fs.get_file_info(path).type.name == "NotFound":
                return None
            raise

    def post(self, name: str, value) -> None:
        """A small value anyone may `peek` at (a host's progress), replaced by each post."""
        data = pickle.dumps(value)
        path = f"{self._path}/{name}"
        if self._fs is None:
            tmp = f"{self._path}/.{name}.tmp"
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        else:
            with self._fs.open_output_stream(path) as f:
                f.write(data)

    @property
    def remote(self) -> bool:
        """Whether the folder is on a store (each look costs a request)."""
        return self._fs is not None

    def peek(self, name: str):
        data = self._read(f"{self._path}/{name}", delete=False)
        return None if data is None else pickle.loads(data)

    def claim(self, name: str) -> bool:
        """Mark `name` taken; False if it already was (a task that was started twice)."""
        path = f"{self._path}/{name}"
        if self._fs is None:
            try:
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                return True
            except FileExistsError:
                return False
        if self._fs.get_file_info(path).type.name != "NotFound":
            return False
        with self._fs.open_output_stream(path) as f:
            f.write(b"")
        return True

    def abort(self, why: str) -> None:
        """Stop every task waiting on this folder (they raise, naming `why`)."""
        path = f"{self._path}/{self.ABORT}"
        try:
            if self._fs is None:
                Path(path).write_text(why)
            else:
                with self._fs.open_output_stream(path) as f:
                    f.write(why.encode())
        except OSError:
            pass  # a folder already gone: nobody is waiting on it

    def clear(self) -> None:
        if self._fs is None:
            shutil.rmtree(self._path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                self._fs.delete_dir(self._path)
