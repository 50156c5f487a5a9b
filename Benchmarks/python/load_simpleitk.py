"""Loads every series under a folder with SimpleITK's ImageSeriesReader as Float32 volumes.

Prints the load time in milliseconds and the peak resident memory in megabytes.
"""
import os
import resource
import sys
import time

import SimpleITK as sitk

folder = sys.argv[1]
start = time.perf_counter()
volumes = []
for name in sorted(os.listdir(folder)):
    path = os.path.join(folder, name)
    reader = sitk.ImageSeriesReader()
    for uid in reader.GetGDCMSeriesIDs(path):
        reader.SetFileNames(reader.GetGDCMSeriesFileNames(path, uid))
        reader.SetOutputPixelType(sitk.sitkFloat32)
        volumes.append(reader.Execute())
elapsed = (time.perf_counter() - start) * 1000
assert len(volumes) == 4, len(volumes)
print(elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
