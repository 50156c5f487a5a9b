// Compares single-threaded sgemm of OpenBLAS and oneDNN on the temporal module's shapes: row-major
// C (m x n) += A (m x k) * B^T, B stored n x k, as the kernel's projections call it. Prints
// GFLOP/s of each library per shape, timed over about 2 GFLOP per library.
//
// Build and run (needs libopenblas-dev and libdnnl-dev; stdnet itself needs only oneDNN):
//   gcc -O2 Benchmarks/sgemm/compare.c -o /tmp/sgemm-compare -lopenblas -ldnnl -fopenmp
//   /tmp/sgemm-compare
//   OPENBLAS_CORETYPE=SkylakeX /tmp/sgemm-compare   # when OpenBLAS does not know the CPU model
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <cblas.h>
#include <dnnl.h>
#include <omp.h>

static double seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec + now.tv_nsec * 1e-9;
}

int main(void) {
    // (rows, columns, depth): a block's rows at 16 to 128 channels, against 3C, C and 2C outputs.
    const int shapes[][3] = {
        {576, 48, 16}, {576, 16, 16}, {576, 32, 16}, {576, 16, 32}, {512, 96, 32},
        {512, 64, 64}, {256, 192, 64}, {64, 384, 128}, {64, 128, 256},
    };
    openblas_set_num_threads(1);
    omp_set_num_threads(1);
    printf("%6s %6s %6s %16s %16s\n", "m", "n", "k", "OpenBLAS GFLOP/s", "oneDNN GFLOP/s");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        float *a = malloc(sizeof(float) * m * k);
        float *b = malloc(sizeof(float) * n * k);
        float *c = calloc((size_t)m * n, sizeof(float));
        for (int i = 0; i < m * k; i++) a[i] = (float)(i % 7) * 0.1f;
        for (int i = 0; i < n * k; i++) b[i] = (float)(i % 5) * 0.1f;
        const int repetitions = (int)(2e9 / (2.0 * m * n * k));
        const double flops = 2.0 * m * n * k * repetitions;

        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, a, k, b, k, 1, c, n);
        double start = seconds();
        for (int r = 0; r < repetitions; r++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, a, k, b, k, 1, c, n);
        const double openblas = flops / (seconds() - start) / 1e9;

        dnnl_sgemm('N', 'T', m, n, k, 1, a, k, b, k, 1, c, n);
        start = seconds();
        for (int r = 0; r < repetitions; r++)
            dnnl_sgemm('N', 'T', m, n, k, 1, a, k, b, k, 1, c, n);
        const double onednn = flops / (seconds() - start) / 1e9;

        printf("%6d %6d %6d %16.1f %16.1f\n", m, n, k, openblas, onednn);
        free(a);
        free(b);
        free(c);
    }
    return 0;
}
