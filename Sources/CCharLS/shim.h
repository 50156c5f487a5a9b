// CharLS 2.4 (Debian libcharls-dev): JPEG-LS decoding.
#include <charls/charls.h>
