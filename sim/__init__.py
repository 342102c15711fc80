"""sim: an agent-based simulation engine that produces labelled synthetic behavioural data."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sim")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"
