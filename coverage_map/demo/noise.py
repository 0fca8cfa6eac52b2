"""Smooth random fields (sums of plane waves) for the density, the borough edges and deprivation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PlaneWaves:
    """A smooth random field: a sum of plane waves, scaled to unit variance."""

    kx: np.ndarray
    ky: np.ndarray
    phase: np.ndarray

    def __call__(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        angles = np.multiply.outer(x, self.kx) + np.multiply.outer(y, self.ky) + self.phase
        return np.sin(angles).sum(axis=-1) / np.sqrt(len(self.kx) / 2.0)


def random_waves(rng: np.random.Generator, count: int, shortest_m: float, longest_m: float) -> PlaneWaves:
    """``count`` plane waves of random direction and phase, wavelengths between the two bounds."""
    wavelength = rng.uniform(shortest_m, longest_m, count)
    direction = rng.uniform(0.0, 2 * np.pi, count)
    k = 2 * np.pi / wavelength
    return PlaneWaves(k * np.cos(direction), k * np.sin(direction), rng.uniform(0.0, 2 * np.pi, count))
