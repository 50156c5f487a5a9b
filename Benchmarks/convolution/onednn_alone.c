// Times oneDNN's own 3x3x3 convolution (stride 1, padding 1, batch 4, forward inference) with
// the layouts it prefers (format_tag_any), the rate the engine's convolutions are measured
// against. Inputs are reordered into those layouts once, outside the timing. Prints the median
// of 5 runs after one warm-up, per shape, in GFLOP/s (2 · N · D·H·W · Cout · Cin · 27 per run).
//
// Build and run (needs libdnnl-dev), next to `NeuralEngineBenchmarks convolution`:
//   gcc -O2 Benchmarks/convolution/onednn_alone.c -o /tmp/onednn-convolution -ldnnl
//   OMP_NUM_THREADS=2 /tmp/onednn-convolution
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <dnnl.h>

static double seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec + now.tv_nsec * 1e-9;
}

static void check(dnnl_status_t status, const char *what) {
    if (status != dnnl_success) {
        fprintf(stderr, "oneDNN failed to %s (status %d)\n", what, (int)status);
        exit(1);
    }
}

static int compare_doubles(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// Returns memory in the layout `wanted`, filled from a plain buffer of layout `plain` through a reorder.
static dnnl_memory_t prepared(dnnl_engine_t engine, dnnl_stream_t stream, const dnnl_memory_desc_t *plain,
                              const dnnl_memory_desc_t *wanted) {
    dnnl_memory_t source, destination;
    check(dnnl_memory_create(&source, plain, engine, DNNL_MEMORY_ALLOCATE), "allocate a plain buffer");
    float *values;
    check(dnnl_memory_get_data_handle(source, (void **)&values), "map a plain buffer");
    const size_t count = dnnl_memory_desc_get_size(plain) / sizeof(float);
    for (size_t i = 0; i < count; i++) values[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    check(dnnl_memory_create(&destination, wanted, engine, DNNL_MEMORY_ALLOCATE), "allocate a buffer");
    dnnl_primitive_desc_t reorder_pd;
    dnnl_primitive_t reorder;
    check(dnnl_reorder_primitive_desc_create(&reorder_pd, plain, engine, wanted, engine, NULL), "describe a reorder");
    check(dnnl_primitive_create(&reorder, reorder_pd), "create a reorder");
    dnnl_exec_arg_t arguments[] = {{DNNL_ARG_FROM, source}, {DNNL_ARG_TO, destination}};
    check(dnnl_primitive_execute(reorder, stream, 2, arguments), "reorder");
    check(dnnl_stream_wait(stream), "wait for a reorder");
    dnnl_primitive_destroy(reorder);
    dnnl_primitive_desc_destroy(reorder_pd);
    dnnl_memory_destroy(source);
    return destination;
}

int main(void) {
    // (input channels, output channels, depth, height, width): the window's first two levels.
    const int shapes[][5] = {{16, 16, 64, 128, 128}, {32, 32, 32, 64, 64}};
    const int batch = 4, runs = 5;
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    check(dnnl_engine_create(&engine, dnnl_cpu, 0), "create the CPU engine");
    check(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags), "create a stream");
    printf("%-28s %10s %10s\n", "shape", "median ms", "GFLOP/s");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int cin = shapes[s][0], cout = shapes[s][1], d = shapes[s][2], h = shapes[s][3], w = shapes[s][4];
        const dnnl_dims_t source_dims = {batch, cin, d, h, w}, weight_dims = {cout, cin, 3, 3, 3};
        const dnnl_dims_t bias_dims = {cout}, destination_dims = {batch, cout, d, h, w};
        const dnnl_dims_t strides = {1, 1, 1}, padding = {1, 1, 1};
        dnnl_memory_desc_t source_any, weight_any, bias_md, destination_any;
        check(dnnl_memory_desc_init_by_tag(&source_any, 5, source_dims, dnnl_f32, dnnl_format_tag_any), "describe the input");
        check(dnnl_memory_desc_init_by_tag(&weight_any, 5, weight_dims, dnnl_f32, dnnl_format_tag_any), "describe the weights");
        check(dnnl_memory_desc_init_by_tag(&bias_md, 1, bias_dims, dnnl_f32, dnnl_a), "describe the bias");
        check(dnnl_memory_desc_init_by_tag(&destination_any, 5, destination_dims, dnnl_f32, dnnl_format_tag_any), "describe the output");
        dnnl_convolution_desc_t description;
        check(dnnl_convolution_forward_desc_init(&description, dnnl_forward_inference, dnnl_convolution_direct,
                                                 &source_any, &weight_any, &bias_md, &destination_any,
                                                 strides, padding, padding), "describe the convolution");
        dnnl_primitive_desc_t pd;
        dnnl_primitive_t convolution;
        check(dnnl_primitive_desc_create(&pd, &description, NULL, engine, NULL), "choose a convolution kernel");
        check(dnnl_primitive_create(&convolution, pd), "create the convolution");
        const char *implementation;
        check(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &implementation), "name the kernel");

        dnnl_memory_desc_t source_plain, weight_plain;
        check(dnnl_memory_desc_init_by_tag(&source_plain, 5, source_dims, dnnl_f32, dnnl_ndhwc), "describe the plain input");
        check(dnnl_memory_desc_init_by_tag(&weight_plain, 5, weight_dims, dnnl_f32, dnnl_oidhw), "describe the plain weights");
        dnnl_memory_t source = prepared(engine, stream, &source_plain, dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0));
        dnnl_memory_t weights = prepared(engine, stream, &weight_plain, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0));
        dnnl_memory_t bias = prepared(engine, stream, &bias_md, &bias_md);
        dnnl_memory_t destination;
        check(dnnl_memory_create(&destination, dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0), engine,
                                 DNNL_MEMORY_ALLOCATE), "allocate the output");
        dnnl_exec_arg_t arguments[] = {
            {DNNL_ARG_SRC, source}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, destination}};

        double times[runs];
        for (int run = -1; run < runs; run++) {
            const double start = seconds();
            check(dnnl_primitive_execute(convolution, stream, 4, arguments), "run the convolution");
            check(dnnl_stream_wait(stream), "wait for the convolution");
            if (run >= 0) times[run] = seconds() - start;
        }
        qsort(times, runs, sizeof times[0], compare_doubles);
        const double flops = 2.0 * batch * d * h * w * cout * cin * 27;
        char label[64];
        snprintf(label, sizeof label, "%d->%d at %dx%dx%d", cin, cout, d, h, w);
        printf("%-28s %10.1f %10.1f   %s\n", label, times[runs / 2] * 1e3, flops / times[runs / 2] / 1e9, implementation);

        dnnl_memory_destroy(source);
        dnnl_memory_destroy(weights);
        dnnl_memory_destroy(bias);
        dnnl_memory_destroy(destination);
        dnnl_primitive_destroy(convolution);
        dnnl_primitive_desc_destroy(pd);
    }
    dnnl_stream_destroy(stream);
    dnnl_engine_destroy(engine);
    return 0;
}
