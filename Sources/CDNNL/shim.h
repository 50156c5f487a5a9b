#include <dnnl.h>

// oneDNN's CPU engine runs on GNU OpenMP, and its sgemm uses as many threads as the calling
// thread's OpenMP setting allows. These two OpenMP calls read and change that per-thread setting.
int omp_get_max_threads(void);
void omp_set_num_threads(int threads);
