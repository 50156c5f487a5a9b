"""Loads every series under a folder with pydicom into Float32 numpy volumes in HU.

Slices are ordered by Image Position (Patient) along the slice normal, as the Swift reader does.
Prints the load time in milliseconds and the peak resident memory in megabytes.
"""
import os
import resource
import sys
import time

import numpy as np
import pydicom

folder = sys.argv[1]
start = time.perf_counter()
series = {}
for root, _, files in os.walk(folder):
    for name in files:
        dataset = pydicom.dcmread(os.path.join(root, name))
        series.setdefault(dataset.SeriesInstanceUID, []).append(dataset)
volumes = []
for datasets in series.values():
    orientation = np.array(datasets[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(orientation[:3], orientation[3:])
    datasets.sort(key=lambda d: float(np.dot(normal, np.array(d.ImagePositionPatient, dtype=float))))
    volume = np.empty((len(datasets), datasets[0].Rows, datasets[0].Columns), dtype=np.float32)
    for index, dataset in enumerate(datasets):
        volume[index] = dataset.pixel_array.astype(np.float32) * float(dataset.RescaleSlope) + float(dataset.RescaleIntercept)
    volumes.append(volume)
elapsed = (time.perf_counter() - start) * 1000
assert len(volumes) == 4, len(volumes)
print(elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
