"""Decodes the one series in a folder with SimpleITK's ImageSeriesReader into a Float32 volume.

Prints the wall time and the CPU time of the load, both in milliseconds.
"""
import sys
import time

import SimpleITK as sitk

folder = sys.argv[1]
start = time.perf_counter()
start_cpu = time.process_time()
reader = sitk.ImageSeriesReader()
(uid,) = reader.GetGDCMSeriesIDs(folder)
reader.SetFileNames(reader.GetGDCMSeriesFileNames(folder, uid))
reader.SetOutputPixelType(sitk.sitkFloat32)
volume = reader.Execute()
elapsed = (time.perf_counter() - start) * 1000
elapsed_cpu = (time.process_time() - start_cpu) * 1000
assert volume.GetSize() == (512, 512, 200), volume.GetSize()
print(elapsed, elapsed_cpu)
