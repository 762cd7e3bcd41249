"""Type aliases shared across simengine."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

JSONDict = dict[str, Any]
FloatArray = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]
