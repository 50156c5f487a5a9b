"""Writes a small oblique CT series with SimpleITK (GDCM) and prints SimpleITK's reading of it.

Run from this folder: python3 make_series.py. Voxel (i, j, k) stores i + 20 j + 300 k - 1000 HU
(stored value + 1000, Rescale Intercept -1000), so any misordering shows in the values.
"""
import math
import os

import numpy as np
import SimpleITK as sitk

size = (16, 12, 6)  # i, j, k
k, j, i = np.meshgrid(np.arange(size[2]), np.arange(size[1]), np.arange(size[0]), indexing="ij")
array = (i + 20 * j + 300 * k - 1000).astype(np.int16)
image = sitk.GetImageFromArray(array)
image.SetSpacing((0.75, 0.8, 2.5))
image.SetOrigin((-30.25, 12.5, 101.0))
angle = math.radians(20)
# Rows along x rotated about y by 20 degrees; columns along y; normal = row x column.
image.SetDirection((math.cos(angle), 0, math.sin(angle), 0, 1, 0, -math.sin(angle), 0, math.cos(angle)))

writer = sitk.ImageFileWriter()
writer.KeepOriginalImageUIDOn()
series_uid = "1.2.826.0.1.3680043.8.498.1001"
direction = image.GetDirection()
for index in range(size[2]):
    frame = image[:, :, index]
    for tag, value in [
        ("0008|0060", "CT"),
        ("0008|0016", "1.2.840.10008.5.1.4.1.1.2"),
        ("0008|0018", f"1.2.826.0.1.3680043.8.498.1001.{index + 1}"),
        ("0008|103e", "synthetic oblique series"),
        ("0020|000d", "1.2.826.0.1.3680043.8.498.1000"),
        ("0020|000e", series_uid),
        ("0020|0013", str(index + 1)),
        ("0020|0032", "\\".join(f"{v:.6f}" for v in image.TransformIndexToPhysicalPoint((0, 0, index)))),
        ("0020|0037", "\\".join(f"{v:.6f}" for v in (direction[0], direction[3], direction[6], direction[1], direction[4], direction[7]))),
        ("0028|1052", "-1000"),
        ("0028|1053", "1"),
    ]:
        frame.SetMetaData(tag, value)
    writer.SetFileName(f"slice{index + 1:02d}.dcm")
    writer.Execute(frame)

reader = sitk.ImageSeriesReader()
names = reader.GetGDCMSeriesFileNames(".")
reader.SetFileNames(names)
read = reader.Execute()
print("origin", read.GetOrigin())
print("spacing", read.GetSpacing())
print("direction", read.GetDirection())
print("value(3,4,5)", read.GetPixel(3, 4, 5))
