// libjpeg-turbo 2.1 (Debian libjpeg62-turbo-dev), 8-bit samples only: JPEG baseline and extended decoding.
// jpeglib.h needs size_t and FILE declared before it.
#include <stddef.h>
#include <stdio.h>
#include <jpeglib.h>
