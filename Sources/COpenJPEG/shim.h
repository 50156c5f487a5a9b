// OpenJPEG 2.5 (Debian libopenjp2-7-dev): JPEG 2000 decoding.
#include <openjpeg-2.5/openjpeg.h>
