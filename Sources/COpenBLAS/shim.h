// Debian's libopenblas-dev installs cblas.h in the multiarch include directory, which is on the
// default search path.
#include <cblas.h>
