"""Where tasks that run at once (the hosts of a sharded run) meet: a folder every one of them reaches,
holding small values written whole and renamed (see `Mailbox`)."""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
from pathlib import Path

from sim.storage import is_uri


class Mailbox:
    """Where tasks that run at once (the hosts of a sharded run) meet: a local folder for a local pool or a
    LocalCluster on this machine, the run's object store (a URI) for a cluster. A task `post`s a small
    value anyone may `peek` at (its progress, the address of its `sim.exchange.Exchange`), `claim`s a
    name once, and `abort(why)` tells every task that looks (`aborted()`) to stop. The hosts' messages
    to one another go host to host (`sim.exchange`), never through here or through the driver.
    """

    ABORT = "abort"

    def __init__(self, root: str, me: int = -1):
        self.root, self.me = root.rstrip("/"), me
        self._fs = None
        if is_uri(root):
            from pyarrow import fs

            self._fs, self._path = fs.FileSystem.from_uri(self.root)
        else:
            self._path = self.root
            os.makedirs(self.root, exist_ok=True)

    def _read(self, path: str) -> bytes | None:
        try:
            if self._fs is None:
                with open(path, "rb") as f:
                    return f.read()
            with self._fs.open_input_stream(path) as f:
                return f.read()
        except FileNotFoundError:
            return None
        except OSError:
            if self._fs is not None and self._fs.get_file_info(path).type.name == "NotFound":
                return None
            raise

    def post(self, name: str, value) -> None:
        """A small value anyone may `peek` at (a host's progress or address), replaced by each post."""
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
        data = self._read(f"{self._path}/{name}")
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

    def aborted(self) -> str | None:
        """Why the run was aborted, if it was."""
        why = self._read(f"{self._path}/{self.ABORT}")
        return None if why is None else why.decode()

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
