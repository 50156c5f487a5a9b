"""Decodes the one series in a folder with pydicom and pylibjpeg into a Float32 numpy volume in HU.

Compressed pixel data is decoded with the pylibjpeg plugin only (pylibjpeg-libjpeg for JPEG
lossless, pylibjpeg-openjpeg for JPEG 2000), so no other installed decoder is timed.
Slices are ordered by Image Position (Patient) along the slice normal, as the Swift reader does.
Prints the wall time and the CPU time of the load, both in milliseconds.
"""
import os
import sys
import time

import numpy as np
import pydicom
from pydicom.uid import UncompressedTransferSyntaxes

folder = sys.argv[1]
start = time.perf_counter()
start_cpu = time.process_time()
datasets = [pydicom.dcmread(os.path.join(folder, name)) for name in os.listdir(folder)]
orientation = np.array(datasets[0].ImageOrientationPatient, dtype=float)
normal = np.cross(orientation[:3], orientation[3:])
datasets.sort(key=lambda d: float(np.dot(normal, np.array(d.ImagePositionPatient, dtype=float))))
volume = np.empty((len(datasets), datasets[0].Rows, datasets[0].Columns), dtype=np.float32)
for index, dataset in enumerate(datasets):
    if dataset.file_meta.TransferSyntaxUID not in UncompressedTransferSyntaxes:
        dataset.pixel_array_options(decoding_plugin="pylibjpeg")
    volume[index] = dataset.pixel_array.astype(np.float32) * float(dataset.RescaleSlope) + float(dataset.RescaleIntercept)
elapsed = (time.perf_counter() - start) * 1000
elapsed_cpu = (time.process_time() - start_cpu) * 1000
assert volume.shape == (200, 512, 512), volume.shape
print(elapsed, elapsed_cpu)
