#include <dnnl.h>

// oneDNN's CPU engine runs on GNU OpenMP. Its sgemm takes as many threads as the calling
// thread's OpenMP setting allows; these two calls of the OpenMP runtime read and change that
// setting, which is per thread.
int omp_get_max_threads(void);
void omp_set_num_threads(int threads);
