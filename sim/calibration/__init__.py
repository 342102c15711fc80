"""Calibration: fit scenario parameters to real target statistics and say how well and how sure.

Targets (`targets`) are named real statistics; `moments` computes the same statistics from a run;
`objective` scores the difference (method of simulated moments); `Calibrator` searches the parameters
with a back-end (`backends`: Optuna TPE / CMA-ES, pyabc ABC-SMC); `recovery` checks identifiability;
`output` writes the calibration directory. `sim calibrate` is the command-line face of all this.
"""

from sim.calibration.calibrator import Calibrator
from sim.calibration.output import write_calibration
from sim.calibration.recovery import check_recovery
from sim.calibration.simulator import Parameter, Simulator, parse_space
from sim.calibration.targets import load_targets

__all__ = [
    "Calibrator",
    "Parameter",
    "Simulator",
    "check_recovery",
    "load_targets",
    "parse_space",
    "write_calibration",
]
